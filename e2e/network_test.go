package e2e

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/stagehand/stagehand/e2e/e2etest"
	"github.com/stagehand/stagehand/shared/artifact"
	"github.com/stagehand/stagehand/shared/tags"
)

// networkCounts counts the environment's network resources by kind.
func networkCounts(t *testing.T, api *ec2.Client, env string) map[string]int {
	t.Helper()
	ctx := context.Background()
	f := tags.EC2Filters(env)
	c := map[string]int{}
	vpcs, err := api.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{Filters: f})
	must(t, err)
	c["vpc"] = len(vpcs.Vpcs)
	sn, err := api.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: f})
	must(t, err)
	c["subnet"] = len(sn.Subnets)
	igw, err := api.DescribeInternetGateways(ctx, &ec2.DescribeInternetGatewaysInput{Filters: f})
	must(t, err)
	c["igw"] = len(igw.InternetGateways)
	nat, err := api.DescribeNatGateways(ctx, &ec2.DescribeNatGatewaysInput{Filter: append(f, ec2types.Filter{Name: aws.String("state"), Values: []string{"pending", "available"}})})
	must(t, err)
	for _, n := range nat.NatGateways { // the local endpoint ignores tag filters on NAT gateways
		if tags.IsEnv(n.Tags, env) {
			c["nat"]++
		}
	}
	eip, err := api.DescribeAddresses(ctx, &ec2.DescribeAddressesInput{Filters: f})
	must(t, err)
	c["eip"] = len(eip.Addresses)
	rt, err := api.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: f})
	must(t, err)
	c["rt"] = len(rt.RouteTables)
	sg, err := api.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: f})
	must(t, err)
	c["sg"] = len(sg.SecurityGroups)
	return c
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestNetworkLifecycle(t *testing.T) {
	h.Reset(t)
	w := h.NewWorkspace(t)
	w.WriteEnv(t, "net", e2etest.Env("10.50.0.0/16"))
	api := ec2.NewFromConfig(h.AWS(t))
	ctx := context.Background()

	// Dry run first: lists what it would create, creates nothing.
	r := w.MustRun(t, 0, "create-vpc", "--env", "net", "--dry-run")
	if !strings.Contains(r.Stdout, "would create") {
		t.Fatalf("dry run printed no plan:\n%s", r.Stdout)
	}
	for k, n := range networkCounts(t, api, "net") {
		if n != 0 {
			t.Fatalf("dry run created %d %s", n, k)
		}
	}
	if _, err := os.Stat(filepath.Join(w.ArtifactsDir("net"), "vpc.json")); !os.IsNotExist(err) {
		t.Fatalf("dry run wrote vpc.json")
	}

	w.MustRun(t, 0, "create-vpc", "--env", "net")
	want := map[string]int{"vpc": 1, "subnet": 4, "igw": 1, "nat": 1, "eip": 1, "rt": 3, "sg": 1}
	got := networkCounts(t, api, "net")
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s: %d, want %d", k, got[k], n)
		}
	}

	var a artifact.VPC
	w.ReadArtifact(t, "net", "vpc", &a)
	if a.Schema != artifact.SchemaVersion || a.Env != "net" || a.Account != e2etest.Account || a.Region != e2etest.Region || a.RunID == "" {
		t.Fatalf("bad artifact header: %+v", a.Header)
	}
	if len(a.PublicSubnetIDs) != 2 || len(a.PrivateSubnetIDs) != 2 || len(a.NATGatewayIDs) != 1 || a.BaseSecurityGroupID == "" {
		t.Fatalf("artifact incomplete: %+v", a)
	}

	// VPC: CIDR, DNS attributes, tags.
	vpcs, err := api.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{a.VPCID}})
	must(t, err)
	vt := tags.FromEC2(vpcs.Vpcs[0].Tags)
	if aws.ToString(vpcs.Vpcs[0].CidrBlock) != "10.50.0.0/16" || vt[tags.Env] != "net" || vt[tags.Step] != "create-vpc" || vt[tags.Run] != a.RunID || vt[tags.Name] != "net-vpc" {
		t.Fatalf("vpc cidr/tags wrong: %s %v", aws.ToString(vpcs.Vpcs[0].CidrBlock), vt)
	}
	for _, attr := range []ec2types.VpcAttributeName{ec2types.VpcAttributeNameEnableDnsSupport, ec2types.VpcAttributeNameEnableDnsHostnames} {
		out, err := api.DescribeVpcAttribute(ctx, &ec2.DescribeVpcAttributeInput{VpcId: &a.VPCID, Attribute: attr})
		must(t, err)
		v := out.EnableDnsSupport
		if attr == ec2types.VpcAttributeNameEnableDnsHostnames {
			v = out.EnableDnsHostnames
		}
		if v == nil || !aws.ToBool(v.Value) {
			t.Errorf("%s not enabled", attr)
		}
	}

	// Subnets: spread over two AZs, inside the VPC CIDR, public ones map public IPs.
	subnets, err := api.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: append(append([]string{}, a.PublicSubnetIDs...), a.PrivateSubnetIDs...)})
	must(t, err)
	azs := map[string]bool{}
	var cidrs []string
	for _, s := range subnets.Subnets {
		azs[aws.ToString(s.AvailabilityZone)] = true
		cidrs = append(cidrs, aws.ToString(s.CidrBlock))
		if tags.FromEC2(s.Tags)[tags.Env] != "net" {
			t.Errorf("subnet %s not tagged", aws.ToString(s.SubnetId))
		}
	}
	sort.Strings(cidrs)
	if len(azs) != 2 {
		t.Errorf("subnets in %d AZs, want 2", len(azs))
	}
	wantCIDRs := []string{"10.50.0.0/20", "10.50.128.0/20", "10.50.144.0/20", "10.50.16.0/20"}
	if strings.Join(cidrs, ",") != strings.Join(wantCIDRs, ",") {
		t.Errorf("subnet CIDRs %v, want %v", cidrs, wantCIDRs)
	}

	// Routes: public -> IGW for public subnets; private -> NAT for private subnets.
	routeOf := func(subnet string) ec2types.Route {
		out, err := api.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{Filters: []ec2types.Filter{{Name: aws.String("association.subnet-id"), Values: []string{subnet}}}})
		must(t, err)
		if len(out.RouteTables) != 1 {
			t.Fatalf("subnet %s has %d route tables", subnet, len(out.RouteTables))
		}
		for _, r := range out.RouteTables[0].Routes {
			if aws.ToString(r.DestinationCidrBlock) == "0.0.0.0/0" {
				return r
			}
		}
		t.Fatalf("subnet %s has no default route", subnet)
		return ec2types.Route{}
	}
	for _, s := range a.PublicSubnetIDs {
		if r := routeOf(s); aws.ToString(r.GatewayId) != a.InternetGatewayID {
			t.Errorf("public subnet %s default route -> %v, want IGW %s", s, aws.ToString(r.GatewayId), a.InternetGatewayID)
		}
	}
	for _, s := range a.PrivateSubnetIDs {
		if r := routeOf(s); aws.ToString(r.NatGatewayId) != a.NATGatewayIDs[0] {
			t.Errorf("private subnet %s default route -> %v, want NAT %s", s, aws.ToString(r.NatGatewayId), a.NATGatewayIDs[0])
		}
	}

	// Second run: nothing new of any kind, the same ids.
	w.MustRun(t, 0, "create-vpc", "--env", "net")
	again := networkCounts(t, api, "net")
	for k, n := range want {
		if again[k] != n {
			t.Errorf("after second run %s: %d, want %d", k, again[k], n)
		}
	}
	var b artifact.VPC
	w.ReadArtifact(t, "net", "vpc", &b)
	if b.VPCID != a.VPCID || b.NATGatewayIDs[0] != a.NATGatewayIDs[0] || !b.CreatedAt.Equal(a.CreatedAt) {
		t.Fatalf("second run changed ids or creation time: %+v vs %+v", b, a)
	}

	// Destroy dry run: lists, changes nothing.
	r = w.MustRun(t, 0, "destroy-vpc", "--env", "net", "--dry-run")
	if !strings.Contains(r.Stdout, "would delete") || !strings.Contains(r.Stdout, a.VPCID) {
		t.Fatalf("destroy dry run printed no plan:\n%s", r.Stdout)
	}
	if networkCounts(t, api, "net")["vpc"] != 1 {
		t.Fatal("destroy dry run deleted the VPC")
	}
	// Without --yes and without a terminal it refuses.
	w.MustRun(t, 3, "destroy-vpc", "--env", "net")

	w.MustRun(t, 5, "verify-clean", "--env", "net")
	w.MustRun(t, 0, "destroy-vpc", "--env", "net", "--yes")
	for k, n := range networkCounts(t, api, "net") {
		if n != 0 {
			t.Errorf("after destroy: %d %s left", n, k)
		}
	}
	if _, err := os.Stat(filepath.Join(w.ArtifactsDir("net"), "vpc.json")); !os.IsNotExist(err) {
		t.Errorf("vpc.json not removed")
	}
	w.MustRun(t, 0, "verify-clean", "--env", "net")
	var rep struct {
		Clean     bool            `json:"clean"`
		Resources []json_resource `json:"resources"`
	}
	w.ReadArtifact(t, "net", "verify-clean", &rep)
	if !rep.Clean || len(rep.Resources) != 0 {
		t.Fatalf("report not clean: %+v", rep)
	}
	w.MustRun(t, 0, "destroy-vpc", "--env", "net", "--yes")
}

type json_resource struct {
	Kind string `json:"kind"`
	ID   string `json:"id"`
}

func TestDestroyVPCWithoutArtifactAndNeighbours(t *testing.T) {
	h.Reset(t)
	w := h.NewWorkspace(t)
	w.WriteEnv(t, "ours", e2etest.Env("10.60.0.0/16"))
	w.WriteEnv(t, "theirs", e2etest.Env("10.61.0.0/16"))
	api := ec2.NewFromConfig(h.AWS(t))
	ctx := context.Background()

	w.MustRun(t, 0, "create-vpc", "--env", "theirs")
	// per-az NAT for ours, to delete more than one NAT gateway.
	env := e2etest.Env("10.60.0.0/16")
	env["network"].(map[string]any)["nat"] = "per-az"
	w.WriteEnv(t, "ours", env)
	w.MustRun(t, 0, "create-vpc", "--env", "ours")
	if n := networkCounts(t, api, "ours")["nat"]; n != 2 {
		t.Fatalf("per-az: %d NAT gateways, want 2", n)
	}

	// An untagged VPC with a subnet beside them.
	untagged, err := api.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.62.0.0/16")})
	must(t, err)
	_, err = api.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: untagged.Vpc.VpcId, CidrBlock: aws.String("10.62.1.0/24")})
	must(t, err)

	before := networkCounts(t, api, "theirs")
	must(t, os.Remove(filepath.Join(w.ArtifactsDir("ours"), "vpc.json")))
	w.MustRun(t, 0, "destroy-vpc", "--env", "ours", "--yes")
	for k, n := range networkCounts(t, api, "ours") {
		if n != 0 {
			t.Errorf("ours: %d %s left after destroy without vpc.json", n, k)
		}
	}
	after := networkCounts(t, api, "theirs")
	for k, n := range before {
		if after[k] != n {
			t.Errorf("theirs: %s went from %d to %d", k, n, after[k])
		}
	}
	out, err := api.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{{Name: aws.String("vpc-id"), Values: []string{aws.ToString(untagged.Vpc.VpcId)}}}})
	must(t, err)
	if len(out.Subnets) != 1 {
		t.Errorf("untagged VPC's subnet was touched")
	}
	w.MustRun(t, 0, "verify-clean", "--env", "ours")
	w.MustRun(t, 5, "verify-clean", "--env", "theirs")
}

func TestSafetyAndBadInput(t *testing.T) {
	h.Reset(t)
	w := h.NewWorkspace(t)
	api := ec2.NewFromConfig(h.AWS(t))

	// Credentials of another account than the environment's: exit 3, nothing created.
	other := e2etest.Env("10.70.0.0/16")
	other["account_id"] = "210987654321"
	w.WriteEnv(t, "other", other)
	w.MustRun(t, 3, "create-vpc", "--env", "other")
	if c := networkCounts(t, api, "other"); c["vpc"] != 0 || c["subnet"] != 0 {
		t.Fatalf("refused run created resources: %v", c)
	}

	// A protected environment cannot be destroyed.
	prot := e2etest.Env("10.71.0.0/16")
	prot["protected"] = true
	w.WriteEnv(t, "prot", prot)
	w.MustRun(t, 0, "create-vpc", "--env", "prot")
	w.MustRun(t, 3, "destroy-vpc", "--env", "prot", "--yes")
	if networkCounts(t, api, "prot")["vpc"] != 1 {
		t.Fatal("protected environment lost its VPC")
	}

	// Bad artifacts: exit 2 naming the file, nothing deleted.
	w.WriteEnv(t, "bad", e2etest.Env("10.72.0.0/16"))
	w.MustRun(t, 0, "create-vpc", "--env", "bad")
	path := filepath.Join(w.ArtifactsDir("bad"), "vpc.json")
	good, err := os.ReadFile(path)
	must(t, err)
	cases := map[string]string{
		"malformed":      `{"schema": 1, "kind": "vpc", `,
		"other env":      strings.Replace(string(good), `"env": "bad"`, `"env": "prod"`, 1),
		"unknown schema": strings.Replace(string(good), `"schema": 1`, `"schema": 99`, 1),
		"other account":  strings.Replace(string(good), `"account": "123456789012"`, `"account": "999999999999"`, 1),
	}
	for name, content := range cases {
		t.Run(name, func(t *testing.T) {
			must(t, os.WriteFile(path, []byte(content), 0o644))
			r := w.MustRun(t, 2, "destroy-vpc", "--env", "bad", "--yes")
			if !strings.Contains(r.Stderr, filepath.Join("artifacts", "bad", "vpc.json")) {
				t.Errorf("error does not name %s:\n%s", path, r.Stderr)
			}
			if networkCounts(t, api, "bad")["vpc"] != 1 {
				t.Fatal("a rejected artifact still led to deletions")
			}
		})
	}

	// Bad environment files: exit 2 naming the file and the field.
	envCases := map[string]struct{ body, field string }{
		"unknown field":  {`{"account_id":"123456789012","region":"us-east-1","network":{"cidr":"10.0.0.0/16"},"colour":"blue"}`, "colour"},
		"malformed cidr": {`{"account_id":"123456789012","region":"us-east-1","network":{"cidr":"10.0.0.0/33"}}`, "network.cidr"},
		"no account":     {`{"region":"us-east-1","network":{"cidr":"10.0.0.0/16"}}`, "account_id"},
	}
	for name, c := range envCases {
		t.Run(name, func(t *testing.T) {
			w.WriteEnv(t, "broken", c.body)
			r := w.MustRun(t, 2, "create-vpc", "--env", "broken")
			if !strings.Contains(r.Stderr, "broken.json") || !strings.Contains(r.Stderr, c.field) {
				t.Errorf("error does not name the file and %q:\n%s", c.field, r.Stderr)
			}
		})
	}
	w.MustRun(t, 2, "create-vpc", "--env", "missing")
	w.MustRun(t, 2, "create-vpc")
	w.MustRun(t, 2, "create-vpc", "--env", "bad", "--no-such-flag")
	w.MustRun(t, 2, "create-vpc", "--env", "bad", "--timeout", "-1s")
}

// A create-vpc killed at any point and started again completes the network
// without duplicates. Where the kill lands does not matter: whatever it left
// is tagged and found again.
func TestCreateVPCKilledAndRestarted(t *testing.T) {
	h.Reset(t)
	w := h.NewWorkspace(t)
	w.WriteEnv(t, "killed", e2etest.Env("10.90.0.0/16"))
	api := ec2.NewFromConfig(h.AWS(t))
	for _, after := range []time.Duration{150 * time.Millisecond, 400 * time.Millisecond} {
		w.Kill(t, after, "create-vpc", "--env", "killed")
	}
	w.MustRun(t, 0, "create-vpc", "--env", "killed")
	want := map[string]int{"vpc": 1, "subnet": 4, "igw": 1, "nat": 1, "eip": 1, "rt": 3, "sg": 1}
	got := networkCounts(t, api, "killed")
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s: %d after kill and restart, want %d", k, got[k], n)
		}
	}
	w.MustRun(t, 0, "destroy-vpc", "--env", "killed", "--yes")
	w.MustRun(t, 0, "verify-clean", "--env", "killed")
}
