package network

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/sirupsen/logrus"

	"github.com/stagehand/stagehand/shared/artifact"
	"github.com/stagehand/stagehand/shared/awserr"
	"github.com/stagehand/stagehand/shared/resource"
	"github.com/stagehand/stagehand/shared/tags"
	"github.com/stagehand/stagehand/shared/wait"
)

// Scope is what the network kinds work on: the environment's tags, and the
// ids of its vpc.json when there is one.
type Scope struct {
	API API
	Env string
	// Artifact, when not nil, adds its ids to what the tags find.
	Artifact *artifact.VPC
	Log      logrus.FieldLogger
	// DependencyBudget bounds the retries of a DependencyViolation (default 5m).
	DependencyBudget time.Duration
	// Wait tunes waits for deletions (zero: defaults).
	Wait wait.Options
}

// Kinds returns the network kinds in teardown order: NAT gateways (waited
// until deleted) → Elastic IPs → internet gateway → route tables → subnets →
// security groups → VPC.
func Kinds(s *Scope) []resource.Kind {
	return []resource.Kind{
		&natGateways{s}, &elasticIPs{s}, &internetGateways{s}, &routeTables{s},
		&subnets{s}, s.securityGroups(), &vpcs{s},
	}
}

// Listers returns every network kind verify-clean lists, including the
// network interfaces that stagehand never deletes itself but that block a
// VPC's deletion.
func Listers(s *Scope) []resource.Lister {
	return append(resource.Listers(Kinds(s)...), &networkInterfaces{s})
}

func (s *Scope) budget() time.Duration {
	if s.DependencyBudget > 0 {
		return s.DependencyBudget
	}
	return 5 * time.Minute
}

func (s *Scope) vpcIDs(ctx context.Context) ([]string, error) {
	vs, err := FindVPCs(ctx, s.API, s.Env)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, v := range vs {
		ids = append(ids, aws.ToString(v.VpcId))
	}
	if s.Artifact != nil && s.Artifact.VPCID != "" && !contains(ids, s.Artifact.VPCID) {
		out, err := s.API.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{VpcIds: []string{s.Artifact.VPCID}})
		if err != nil && !awserr.NotFound(err) {
			return nil, fmt.Errorf("describe vpc %s: %w", s.Artifact.VPCID, err)
		}
		if err == nil && len(out.Vpcs) > 0 {
			ids = append(ids, s.Artifact.VPCID)
		}
	}
	return ids, nil
}

// retryDependency deletes with fn, retrying while something still depends
// on the resource; when the budget is spent it says what still blocks.
func (s *Scope) retryDependency(ctx context.Context, t wait.Target, blockers func(context.Context) string, fn func(context.Context) error) error {
	return retryDependency(ctx, s.Log, s.budget(), t, blockers, fn)
}

func retryDependency(ctx context.Context, log logrus.FieldLogger, budget time.Duration, t wait.Target, blockers func(context.Context) string, fn func(context.Context) error) error {
	err := wait.Retry(ctx, log, t, budget, 5*time.Second, awserr.Dependency, func(ctx context.Context) error {
		return awserr.Translate(fn(ctx))
	})
	if awserr.NotFound(err) {
		return resource.ErrGone
	}
	if err != nil && awserr.Dependency(err) && blockers != nil {
		if b := blockers(ctx); b != "" {
			return fmt.Errorf("%w; still blocked by: %s", err, b)
		}
	}
	return err
}

// interfaces describes the network interfaces matching filter, for messages.
func (s *Scope) interfaces(ctx context.Context, filter ec2types.Filter) string {
	return interfaces(ctx, s.API, filter)
}

func interfaces(ctx context.Context, api ec2.DescribeNetworkInterfacesAPIClient, filter ec2types.Filter) string {
	var parts []string
	p := ec2.NewDescribeNetworkInterfacesPaginator(api, &ec2.DescribeNetworkInterfacesInput{Filters: []ec2types.Filter{filter}})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return ""
		}
		for _, n := range page.NetworkInterfaces {
			parts = append(parts, describeENI(n))
		}
	}
	return strings.Join(parts, "; ")
}

func describeENI(n ec2types.NetworkInterface) string {
	return fmt.Sprintf("%s (type %s, status %s, description %q, requester %s)",
		aws.ToString(n.NetworkInterfaceId), n.InterfaceType, n.Status, aws.ToString(n.Description), aws.ToString(n.RequesterId))
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func nameOf(ts []ec2types.Tag) string { return tags.FromEC2(ts)[tags.Name] }

// ---- NAT gateways

type natGateways struct{ s *Scope }

func (k *natGateways) Kind() string { return "nat gateway" }

func (k *natGateways) List(ctx context.Context) ([]resource.Resource, error) {
	var rs []resource.Resource
	add := func(in *ec2.DescribeNatGatewaysInput) error {
		p := ec2.NewDescribeNatGatewaysPaginator(k.s.API, in)
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return err
			}
			for _, n := range page.NatGateways {
				if n.State == ec2types.NatGatewayStateDeleted || n.State == ec2types.NatGatewayStateFailed {
					continue
				}
				if in.Filter != nil && !tags.IsEnv(n.Tags, k.s.Env) {
					continue
				}
				rs = resource.Merge(rs, []resource.Resource{{Kind: k.Kind(), ID: aws.ToString(n.NatGatewayId), Name: nameOf(n.Tags), State: string(n.State)}})
			}
		}
		return nil
	}
	if err := add(&ec2.DescribeNatGatewaysInput{Filter: tags.EC2Filters(k.s.Env)}); err != nil {
		return nil, fmt.Errorf("describe nat gateways: %w", err)
	}
	if a := k.s.Artifact; a != nil && len(a.NATGatewayIDs) > 0 {
		if err := add(&ec2.DescribeNatGatewaysInput{NatGatewayIds: a.NATGatewayIDs}); err != nil && !awserr.NotFound(err) {
			return nil, fmt.Errorf("describe nat gateways: %w", err)
		}
	}
	return rs, nil
}

func (k *natGateways) Remove(ctx context.Context, r resource.Resource) error {
	if r.State != string(ec2types.NatGatewayStateDeleting) {
		if _, err := k.s.API.DeleteNatGateway(ctx, &ec2.DeleteNatGatewayInput{NatGatewayId: &r.ID}); err != nil {
			if awserr.NotFound(err) {
				return resource.ErrGone
			}
			return err
		}
	}
	o := k.s.Wait
	if o.Max == 0 {
		o.Max = 15 * time.Minute
	}
	return wait.Until(ctx, k.s.Log, wait.Target{Kind: k.Kind(), ID: r.ID}, o, func(ctx context.Context) (bool, string, error) {
		out, err := k.s.API.DescribeNatGateways(ctx, &ec2.DescribeNatGatewaysInput{NatGatewayIds: []string{r.ID}})
		if awserr.NotFound(err) {
			return true, "gone", nil
		}
		if err != nil {
			return false, "", err
		}
		if len(out.NatGateways) == 0 || out.NatGateways[0].State == ec2types.NatGatewayStateDeleted {
			return true, "deleted", nil
		}
		return false, string(out.NatGateways[0].State), nil
	})
}

// ---- Elastic IPs

type elasticIPs struct{ s *Scope }

func (k *elasticIPs) Kind() string { return "elastic ip" }

func (k *elasticIPs) List(ctx context.Context) ([]resource.Resource, error) {
	out, err := k.s.API.DescribeAddresses(ctx, &ec2.DescribeAddressesInput{Filters: tags.EC2Filters(k.s.Env)})
	if err != nil {
		return nil, fmt.Errorf("describe addresses: %w", err)
	}
	var addrs []ec2types.Address
	for _, a := range out.Addresses {
		if tags.IsEnv(a.Tags, k.s.Env) {
			addrs = append(addrs, a)
		}
	}
	if a := k.s.Artifact; a != nil {
		for _, id := range a.ElasticIPAllocationIDs {
			o, err := k.s.API.DescribeAddresses(ctx, &ec2.DescribeAddressesInput{AllocationIds: []string{id}})
			if err != nil && !awserr.NotFound(err) {
				return nil, fmt.Errorf("describe address %s: %w", id, err)
			}
			if err == nil {
				addrs = append(addrs, o.Addresses...)
			}
		}
	}
	var rs []resource.Resource
	for _, a := range addrs {
		rs = resource.Merge(rs, []resource.Resource{{Kind: k.Kind(), ID: aws.ToString(a.AllocationId), Name: nameOf(a.Tags), Detail: aws.ToString(a.PublicIp)}})
	}
	return rs, nil
}

func (k *elasticIPs) Remove(ctx context.Context, r resource.Resource) error {
	// An address stays associated for a moment after its NAT gateway is deleted.
	return k.s.retryDependency(ctx, wait.Target{Kind: k.Kind(), ID: r.ID}, nil, func(ctx context.Context) error {
		_, err := k.s.API.ReleaseAddress(ctx, &ec2.ReleaseAddressInput{AllocationId: &r.ID})
		return err
	})
}

// ---- internet gateways

type internetGateways struct{ s *Scope }

func (k *internetGateways) Kind() string { return "internet gateway" }

func (k *internetGateways) List(ctx context.Context) ([]resource.Resource, error) {
	var rs []resource.Resource
	add := func(in *ec2.DescribeInternetGatewaysInput) error {
		p := ec2.NewDescribeInternetGatewaysPaginator(k.s.API, in)
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return err
			}
			for _, g := range page.InternetGateways {
				if in.Filters != nil && !tags.IsEnv(g.Tags, k.s.Env) {
					continue
				}
				var vpcs []string
				for _, a := range g.Attachments {
					vpcs = append(vpcs, aws.ToString(a.VpcId))
				}
				rs = resource.Merge(rs, []resource.Resource{{Kind: k.Kind(), ID: aws.ToString(g.InternetGatewayId), Name: nameOf(g.Tags),
					Detail: strings.Join(vpcs, ","), Ref: map[string]string{"vpcs": strings.Join(vpcs, ",")}}})
			}
		}
		return nil
	}
	if err := add(&ec2.DescribeInternetGatewaysInput{Filters: tags.EC2Filters(k.s.Env)}); err != nil {
		return nil, fmt.Errorf("describe internet gateways: %w", err)
	}
	if a := k.s.Artifact; a != nil && a.InternetGatewayID != "" {
		if err := add(&ec2.DescribeInternetGatewaysInput{InternetGatewayIds: []string{a.InternetGatewayID}}); err != nil && !awserr.NotFound(err) {
			return nil, fmt.Errorf("describe internet gateways: %w", err)
		}
	}
	return rs, nil
}

func (k *internetGateways) Remove(ctx context.Context, r resource.Resource) error {
	for _, vpc := range strings.Split(r.Ref["vpcs"], ",") {
		if vpc == "" {
			continue
		}
		err := k.s.retryDependency(ctx, wait.Target{Kind: k.Kind(), ID: r.ID}, nil, func(ctx context.Context) error {
			_, err := k.s.API.DetachInternetGateway(ctx, &ec2.DetachInternetGatewayInput{InternetGatewayId: &r.ID, VpcId: &vpc})
			return err
		})
		if err != nil && !errors.Is(err, resource.ErrGone) {
			return fmt.Errorf("detach from %s: %w", vpc, err)
		}
	}
	_, err := k.s.API.DeleteInternetGateway(ctx, &ec2.DeleteInternetGatewayInput{InternetGatewayId: &r.ID})
	if awserr.NotFound(err) {
		return resource.ErrGone
	}
	return err
}

// ---- route tables

type routeTables struct{ s *Scope }

func (k *routeTables) Kind() string { return "route table" }

func (k *routeTables) List(ctx context.Context) ([]resource.Resource, error) {
	ids := []string{}
	if a := k.s.Artifact; a != nil {
		ids = append(ids, a.PrivateRouteTableIDs...)
		if a.PublicRouteTableID != "" {
			ids = append(ids, a.PublicRouteTableID)
		}
	}
	var rs []resource.Resource
	add := func(in *ec2.DescribeRouteTablesInput) error {
		p := ec2.NewDescribeRouteTablesPaginator(k.s.API, in)
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return err
			}
			for _, t := range page.RouteTables {
				if in.Filters != nil && !tags.IsEnv(t.Tags, k.s.Env) {
					continue
				}
				var assoc []string
				main := false
				for _, a := range t.Associations {
					if aws.ToBool(a.Main) {
						main = true
						continue
					}
					assoc = append(assoc, aws.ToString(a.RouteTableAssociationId))
				}
				if main {
					continue // a VPC's main route table goes with the VPC
				}
				rs = resource.Merge(rs, []resource.Resource{{Kind: k.Kind(), ID: aws.ToString(t.RouteTableId), Name: nameOf(t.Tags),
					Detail: aws.ToString(t.VpcId), Ref: map[string]string{"associations": strings.Join(assoc, ",")}}})
			}
		}
		return nil
	}
	if err := add(&ec2.DescribeRouteTablesInput{Filters: tags.EC2Filters(k.s.Env)}); err != nil {
		return nil, fmt.Errorf("describe route tables: %w", err)
	}
	for _, id := range ids {
		if err := add(&ec2.DescribeRouteTablesInput{RouteTableIds: []string{id}}); err != nil && !awserr.NotFound(err) {
			return nil, fmt.Errorf("describe route table %s: %w", id, err)
		}
	}
	return rs, nil
}

func (k *routeTables) Remove(ctx context.Context, r resource.Resource) error {
	for _, a := range strings.Split(r.Ref["associations"], ",") {
		if a == "" {
			continue
		}
		if _, err := k.s.API.DisassociateRouteTable(ctx, &ec2.DisassociateRouteTableInput{AssociationId: &a}); err != nil && !awserr.NotFound(err) {
			return fmt.Errorf("disassociate %s: %w", a, err)
		}
	}
	return k.s.retryDependency(ctx, wait.Target{Kind: k.Kind(), ID: r.ID}, nil, func(ctx context.Context) error {
		_, err := k.s.API.DeleteRouteTable(ctx, &ec2.DeleteRouteTableInput{RouteTableId: &r.ID})
		return err
	})
}

// ---- subnets

type subnets struct{ s *Scope }

func (k *subnets) Kind() string { return "subnet" }

func (k *subnets) List(ctx context.Context) ([]resource.Resource, error) {
	var ids []string
	if a := k.s.Artifact; a != nil {
		ids = append(append(ids, a.PublicSubnetIDs...), a.PrivateSubnetIDs...)
	}
	var rs []resource.Resource
	add := func(in *ec2.DescribeSubnetsInput) error {
		p := ec2.NewDescribeSubnetsPaginator(k.s.API, in)
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return err
			}
			for _, sn := range page.Subnets {
				if in.Filters != nil && !tags.IsEnv(sn.Tags, k.s.Env) {
					continue
				}
				rs = resource.Merge(rs, []resource.Resource{{Kind: k.Kind(), ID: aws.ToString(sn.SubnetId), Name: nameOf(sn.Tags),
					Detail: aws.ToString(sn.CidrBlock) + " " + aws.ToString(sn.AvailabilityZone)}})
			}
		}
		return nil
	}
	if err := add(&ec2.DescribeSubnetsInput{Filters: tags.EC2Filters(k.s.Env)}); err != nil {
		return nil, fmt.Errorf("describe subnets: %w", err)
	}
	for _, id := range ids {
		if err := add(&ec2.DescribeSubnetsInput{SubnetIds: []string{id}}); err != nil && !awserr.NotFound(err) {
			return nil, fmt.Errorf("describe subnet %s: %w", id, err)
		}
	}
	return rs, nil
}

func (k *subnets) Remove(ctx context.Context, r resource.Resource) error {
	blockers := func(ctx context.Context) string {
		return k.s.interfaces(ctx, ec2types.Filter{Name: aws.String("subnet-id"), Values: []string{r.ID}})
	}
	return k.s.retryDependency(ctx, wait.Target{Kind: k.Kind(), ID: r.ID}, blockers, func(ctx context.Context) error {
		_, err := k.s.API.DeleteSubnet(ctx, &ec2.DeleteSubnetInput{SubnetId: &r.ID})
		return err
	})
}

// ---- VPCs

type vpcs struct{ s *Scope }

func (k *vpcs) Kind() string { return "vpc" }

func (k *vpcs) List(ctx context.Context) ([]resource.Resource, error) {
	ids, err := k.s.vpcIDs(ctx)
	if err != nil {
		return nil, err
	}
	rs := make([]resource.Resource, 0, len(ids))
	for _, id := range ids {
		rs = append(rs, resource.Resource{Kind: k.Kind(), ID: id, Name: k.s.Env + "-vpc"})
	}
	return rs, nil
}

func (k *vpcs) Remove(ctx context.Context, r resource.Resource) error {
	blockers := func(ctx context.Context) string {
		return k.s.interfaces(ctx, ec2types.Filter{Name: aws.String("vpc-id"), Values: []string{r.ID}})
	}
	return k.s.retryDependency(ctx, wait.Target{Kind: k.Kind(), ID: r.ID}, blockers, func(ctx context.Context) error {
		_, err := k.s.API.DeleteVpc(ctx, &ec2.DeleteVpcInput{VpcId: &r.ID})
		return err
	})
}

// ---- network interfaces (listed, never deleted by stagehand)

type networkInterfaces struct{ s *Scope }

func (k *networkInterfaces) Kind() string { return "network interface" }

func (k *networkInterfaces) List(ctx context.Context) ([]resource.Resource, error) {
	ids, err := k.s.vpcIDs(ctx)
	if err != nil || len(ids) == 0 {
		return nil, err
	}
	var rs []resource.Resource
	p := ec2.NewDescribeNetworkInterfacesPaginator(k.s.API, &ec2.DescribeNetworkInterfacesInput{
		Filters: []ec2types.Filter{{Name: aws.String("vpc-id"), Values: ids}},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe network interfaces: %w", err)
		}
		for _, n := range page.NetworkInterfaces {
			rs = append(rs, resource.Resource{Kind: k.Kind(), ID: aws.ToString(n.NetworkInterfaceId), State: string(n.Status), Detail: describeENI(n)})
		}
	}
	return rs, nil
}

func (s *Scope) securityGroups() resource.Kind {
	var ids []string
	if s.Artifact != nil && s.Artifact.BaseSecurityGroupID != "" {
		ids = []string{s.Artifact.BaseSecurityGroupID}
	}
	return SecurityGroups(SecurityGroupSet{API: s.API, Env: s.Env, IDs: ids, Log: s.Log, DependencyBudget: s.budget()})
}
