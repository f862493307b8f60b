package network

import (
	"context"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/sirupsen/logrus"

	"github.com/stagehand/stagehand/shared/artifact"
	"github.com/stagehand/stagehand/shared/awserr"
	"github.com/stagehand/stagehand/shared/environment"
	"github.com/stagehand/stagehand/shared/parallel"
	"github.com/stagehand/stagehand/shared/step"
	"github.com/stagehand/stagehand/shared/tags"
	"github.com/stagehand/stagehand/shared/wait"
)

// Tag values of tags.Role.
const (
	RolePublic  = "public"
	RolePrivate = "private"
	RoleBase    = "base"
	RoleNAT     = "nat"
)

// planned is the placeholder id of a resource a dry run would create.
const planned = "(new)"

// Builder creates (or finds) the environment's network.
type Builder struct {
	API     API
	Env     *environment.Environment
	Tags    tags.Set
	Log     logrus.FieldLogger
	Summary *step.Summary
	DryRun  bool
	// Wait tunes the NAT gateway wait (zero: defaults).
	Wait wait.Options
}

// Ensure makes the network exist as the environment describes it and
// returns what the artifact records. Everything is found by tags first, so
// a second run, or a run after a killed one, creates only what is missing.
func (b *Builder) Ensure(ctx context.Context) (*artifact.VPC, error) {
	n := b.Env.Network
	azs, err := b.zones(ctx, n.AZCount)
	if err != nil {
		return nil, err
	}
	out := &artifact.VPC{CIDR: n.CIDR, AvailabilityZones: azs, NATMode: n.NAT}
	vpcID, err := b.vpc(ctx)
	if err != nil {
		return nil, err
	}
	out.VPCID = vpcID

	public := make([]string, len(azs))
	private := make([]string, len(azs))
	natCount := map[string]int{environment.NATSingle: 1, environment.NATPerAZ: len(azs), environment.NATNone: 0}[n.NAT]
	eips := make([]string, natCount)
	var igwID, sgID string
	var subnetCalls []func(context.Context) error
	for i, az := range azs {
		subnetCalls = append(subnetCalls,
			func(ctx context.Context) (err error) {
				public[i], err = b.subnet(ctx, vpcID, az, RolePublic, subnetCIDR(n.CIDR, i))
				return err
			},
			func(ctx context.Context) (err error) {
				private[i], err = b.subnet(ctx, vpcID, az, RolePrivate, subnetCIDR(n.CIDR, 8+i))
				return err
			})
	}
	for i := range eips {
		subnetCalls = append(subnetCalls, func(ctx context.Context) (err error) {
			eips[i], err = b.elasticIP(ctx, azs[i])
			return err
		})
	}
	subnetCalls = append(subnetCalls,
		func(ctx context.Context) (err error) { igwID, err = b.internetGateway(ctx, vpcID); return err },
		func(ctx context.Context) (err error) { sgID, err = b.securityGroup(ctx, vpcID); return err },
	)
	if err := parallel.Do(ctx, 6, len(subnetCalls), func(ctx context.Context, i int) error { return subnetCalls[i](ctx) }); err != nil {
		return nil, err
	}
	out.PublicSubnetIDs, out.PrivateSubnetIDs = public, private
	out.InternetGatewayID, out.BaseSecurityGroupID = igwID, sgID
	out.ElasticIPAllocationIDs = eips

	nats := make([]string, natCount)
	err = parallel.All(ctx,
		func(ctx context.Context) error {
			return parallel.Do(ctx, natCount, natCount, func(ctx context.Context, i int) (err error) {
				nats[i], err = b.natGateway(ctx, vpcID, azs[i], public[i], eips[i])
				return err
			})
		},
		func(ctx context.Context) (err error) {
			out.PublicRouteTableID, err = b.routeTable(ctx, vpcID, RolePublic, "", public, igwID, "")
			return err
		})
	if err != nil {
		return nil, err
	}
	out.NATGatewayIDs = nats
	if err := b.waitNATs(ctx, nats); err != nil {
		return nil, err
	}
	out.PrivateRouteTableIDs = make([]string, len(azs))
	err = parallel.Do(ctx, 4, len(azs), func(ctx context.Context, i int) (err error) {
		nat := ""
		if natCount > 0 {
			nat = nats[min(i, natCount-1)]
		}
		out.PrivateRouteTableIDs[i], err = b.routeTable(ctx, vpcID, RolePrivate, azs[i], []string{private[i]}, "", nat)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// subnetCIDR returns the index-th of the 16 equal subnets of block.
func subnetCIDR(block string, index int) string {
	p := netip.MustParsePrefix(block)
	bits := p.Bits() + 4
	a := p.Addr().As4()
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	v += uint32(index) << (32 - bits)
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), bits).String()
}

func (b *Builder) name(parts ...string) string {
	return b.Env.Name + "-" + strings.Join(parts, "-")
}

func (b *Builder) record(action, kind, id, name string) {
	b.Summary.Add(action, kind, id, name)
	if action == step.Created {
		b.Log.WithFields(logrus.Fields{"resource": kind, "id": id, "name": name}).Info("created")
	}
}

func (b *Builder) zones(ctx context.Context, count int) ([]string, error) {
	out, err := b.API.DescribeAvailabilityZones(ctx, &ec2.DescribeAvailabilityZonesInput{
		Filters: []ec2types.Filter{{Name: aws.String("state"), Values: []string{"available"}}},
	})
	if err != nil {
		return nil, fmt.Errorf("describe availability zones: %w", err)
	}
	var names []string
	for _, z := range out.AvailabilityZones {
		if z.ZoneType == nil || *z.ZoneType == "availability-zone" {
			names = append(names, aws.ToString(z.ZoneName))
		}
	}
	sort.Strings(names)
	if len(names) < count {
		return nil, fmt.Errorf("region %s has %d available zones, the environment asks for network.az_count %d", b.Env.Region, len(names), count)
	}
	return names[:count], nil
}

func (b *Builder) vpc(ctx context.Context) (string, error) {
	vpcs, err := FindVPCs(ctx, b.API, b.Env.Name)
	if err != nil {
		return "", err
	}
	name := b.name("vpc")
	switch len(vpcs) {
	case 0:
	case 1:
		id := aws.ToString(vpcs[0].VpcId)
		if got := aws.ToString(vpcs[0].CidrBlock); got != b.Env.Network.CIDR {
			return "", fmt.Errorf("VPC %s of environment %q has CIDR %s, the environment file says %s: destroy the network first to change it", id, b.Env.Name, got, b.Env.Network.CIDR)
		}
		b.record(step.Kept, "vpc", id, name)
		return id, nil
	default:
		ids := make([]string, len(vpcs))
		for i, v := range vpcs {
			ids[i] = aws.ToString(v.VpcId)
		}
		return "", fmt.Errorf("found %d VPCs tagged %s=%s (%s); refusing to guess: destroy-vpc removes them all", len(vpcs), tags.Env, b.Env.Name, strings.Join(ids, ", "))
	}
	if b.DryRun {
		b.record(step.WouldCreate, "vpc", planned, name)
		return planned, nil
	}
	out, err := b.API.CreateVpc(ctx, &ec2.CreateVpcInput{
		CidrBlock:         aws.String(b.Env.Network.CIDR),
		TagSpecifications: tags.EC2Spec(ec2types.ResourceTypeVpc, b.Tags.Map(name)),
	})
	if err != nil {
		return "", fmt.Errorf("create vpc: %w", err)
	}
	id := aws.ToString(out.Vpc.VpcId)
	for _, attr := range []*ec2.ModifyVpcAttributeInput{
		{VpcId: &id, EnableDnsSupport: &ec2types.AttributeBooleanValue{Value: aws.Bool(true)}},
		{VpcId: &id, EnableDnsHostnames: &ec2types.AttributeBooleanValue{Value: aws.Bool(true)}},
	} {
		if _, err := b.API.ModifyVpcAttribute(ctx, attr); err != nil {
			return "", fmt.Errorf("enable DNS on vpc %s: %w", id, err)
		}
	}
	b.record(step.Created, "vpc", id, name)
	return id, nil
}

// FindVPCs returns the VPCs tagged with the environment.
func FindVPCs(ctx context.Context, api ec2.DescribeVpcsAPIClient, env string) ([]ec2types.Vpc, error) {
	var out []ec2types.Vpc
	p := ec2.NewDescribeVpcsPaginator(api, &ec2.DescribeVpcsInput{Filters: tags.EC2Filters(env)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe vpcs: %w", err)
		}
		for _, v := range page.Vpcs {
			if tags.IsEnv(v.Tags, env) {
				out = append(out, v)
			}
		}
	}
	return out, nil
}

func (b *Builder) subnet(ctx context.Context, vpcID, az, role, cidr string) (string, error) {
	name := b.name(role, az)
	if vpcID != planned {
		p := ec2.NewDescribeSubnetsPaginator(b.API, &ec2.DescribeSubnetsInput{
			Filters: append(tags.EC2Filters(b.Env.Name, tags.Role, role, tags.AZ, az),
				ec2types.Filter{Name: aws.String("vpc-id"), Values: []string{vpcID}}),
		})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return "", fmt.Errorf("describe subnets: %w", err)
			}
			for _, s := range page.Subnets {
				if !tags.IsEnv(s.Tags, b.Env.Name) {
					continue
				}
				id := aws.ToString(s.SubnetId)
				b.record(step.Kept, "subnet", id, name)
				return id, nil
			}
		}
	}
	if b.DryRun {
		b.record(step.WouldCreate, "subnet", planned, name+" "+cidr)
		return planned, nil
	}
	out, err := b.API.CreateSubnet(ctx, &ec2.CreateSubnetInput{
		VpcId: &vpcID, CidrBlock: &cidr, AvailabilityZone: &az,
		TagSpecifications: tags.EC2Spec(ec2types.ResourceTypeSubnet, b.Tags.Map(name, tags.Role, role, tags.AZ, az)),
	})
	if err != nil {
		return "", fmt.Errorf("create subnet %s (%s in %s): %w", name, cidr, az, err)
	}
	id := aws.ToString(out.Subnet.SubnetId)
	if role == RolePublic {
		if _, err := b.API.ModifySubnetAttribute(ctx, &ec2.ModifySubnetAttributeInput{
			SubnetId: &id, MapPublicIpOnLaunch: &ec2types.AttributeBooleanValue{Value: aws.Bool(true)},
		}); err != nil {
			return "", fmt.Errorf("map public IPs on subnet %s: %w", id, err)
		}
	}
	b.record(step.Created, "subnet", id, name+" "+cidr)
	return id, nil
}

func (b *Builder) internetGateway(ctx context.Context, vpcID string) (string, error) {
	name := b.name("igw")
	p := ec2.NewDescribeInternetGatewaysPaginator(b.API, &ec2.DescribeInternetGatewaysInput{Filters: tags.EC2Filters(b.Env.Name)})
	var igw *ec2types.InternetGateway
	for p.HasMorePages() && igw == nil {
		page, err := p.NextPage(ctx)
		if err != nil {
			return "", fmt.Errorf("describe internet gateways: %w", err)
		}
		for i := range page.InternetGateways {
			if tags.IsEnv(page.InternetGateways[i].Tags, b.Env.Name) {
				igw = &page.InternetGateways[i]
				break
			}
		}
	}
	if igw == nil {
		if b.DryRun {
			b.record(step.WouldCreate, "internet gateway", planned, name)
			return planned, nil
		}
		out, err := b.API.CreateInternetGateway(ctx, &ec2.CreateInternetGatewayInput{
			TagSpecifications: tags.EC2Spec(ec2types.ResourceTypeInternetGateway, b.Tags.Map(name)),
		})
		if err != nil {
			return "", fmt.Errorf("create internet gateway: %w", err)
		}
		igw = out.InternetGateway
		b.record(step.Created, "internet gateway", aws.ToString(igw.InternetGatewayId), name)
	} else {
		b.record(step.Kept, "internet gateway", aws.ToString(igw.InternetGatewayId), name)
	}
	id := aws.ToString(igw.InternetGatewayId)
	for _, a := range igw.Attachments {
		if aws.ToString(a.VpcId) == vpcID {
			return id, nil
		}
		return "", fmt.Errorf("internet gateway %s of environment %q is attached to %s, not to the environment's VPC %s", id, b.Env.Name, aws.ToString(a.VpcId), vpcID)
	}
	if b.DryRun {
		return id, nil
	}
	if _, err := b.API.AttachInternetGateway(ctx, &ec2.AttachInternetGatewayInput{InternetGatewayId: &id, VpcId: &vpcID}); err != nil {
		return "", fmt.Errorf("attach internet gateway %s to %s: %w", id, vpcID, err)
	}
	return id, nil
}

func (b *Builder) elasticIP(ctx context.Context, az string) (string, error) {
	name := b.name("nat", az)
	out, err := b.API.DescribeAddresses(ctx, &ec2.DescribeAddressesInput{Filters: tags.EC2Filters(b.Env.Name, tags.Role, RoleNAT, tags.AZ, az)})
	if err != nil {
		return "", fmt.Errorf("describe addresses: %w", err)
	}
	for _, a := range out.Addresses {
		t := tags.FromEC2(a.Tags)
		if t[tags.Env] == b.Env.Name && t[tags.AZ] == az {
			id := aws.ToString(a.AllocationId)
			b.record(step.Kept, "elastic ip", id, name)
			return id, nil
		}
	}
	if b.DryRun {
		b.record(step.WouldCreate, "elastic ip", planned, name)
		return planned, nil
	}
	a, err := b.API.AllocateAddress(ctx, &ec2.AllocateAddressInput{
		Domain:            ec2types.DomainTypeVpc,
		TagSpecifications: tags.EC2Spec(ec2types.ResourceTypeElasticIp, b.Tags.Map(name, tags.Role, RoleNAT, tags.AZ, az)),
	})
	if err != nil {
		return "", fmt.Errorf("allocate elastic ip for %s: %w", name, err)
	}
	id := aws.ToString(a.AllocationId)
	b.record(step.Created, "elastic ip", id, name+" "+aws.ToString(a.PublicIp))
	return id, nil
}

// liveNATStates are the NAT gateway states that count as existing.
var liveNATStates = []string{"pending", "available"}

func (b *Builder) natGateway(ctx context.Context, vpcID, az, subnetID, allocationID string) (string, error) {
	name := b.name("nat", az)
	if vpcID != planned {
		p := ec2.NewDescribeNatGatewaysPaginator(b.API, &ec2.DescribeNatGatewaysInput{
			Filter: append(tags.EC2Filters(b.Env.Name, tags.AZ, az),
				ec2types.Filter{Name: aws.String("state"), Values: liveNATStates},
				ec2types.Filter{Name: aws.String("vpc-id"), Values: []string{vpcID}}),
		})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return "", fmt.Errorf("describe nat gateways: %w", err)
			}
			for _, n := range page.NatGateways {
				if t := tags.FromEC2(n.Tags); t[tags.Env] != b.Env.Name || t[tags.AZ] != az {
					continue
				}
				id := aws.ToString(n.NatGatewayId)
				b.record(step.Kept, "nat gateway", id, name)
				return id, nil
			}
		}
	}
	if b.DryRun {
		b.record(step.WouldCreate, "nat gateway", planned, name)
		return planned, nil
	}
	out, err := b.API.CreateNatGateway(ctx, &ec2.CreateNatGatewayInput{
		SubnetId: &subnetID, AllocationId: &allocationID,
		TagSpecifications: tags.EC2Spec(ec2types.ResourceTypeNatgateway, b.Tags.Map(name, tags.Role, RoleNAT, tags.AZ, az)),
	})
	if err != nil {
		return "", fmt.Errorf("create nat gateway %s: %w", name, err)
	}
	id := aws.ToString(out.NatGateway.NatGatewayId)
	b.record(step.Created, "nat gateway", id, name)
	return id, nil
}

// waitNATs waits until every NAT gateway is available: the private routes
// the artifact promises do not carry traffic before.
func (b *Builder) waitNATs(ctx context.Context, ids []string) error {
	if b.DryRun || len(ids) == 0 {
		return nil
	}
	o := b.Wait
	if o.Interval == 0 {
		o.Interval = 10 * time.Second
	}
	if o.Max == 0 {
		o.Max = 15 * time.Minute
	}
	return parallel.Do(ctx, len(ids), len(ids), func(ctx context.Context, i int) error {
		return wait.Until(ctx, b.Log, wait.Target{Kind: "nat gateway", ID: ids[i]}, o, func(ctx context.Context) (bool, string, error) {
			out, err := b.API.DescribeNatGateways(ctx, &ec2.DescribeNatGatewaysInput{NatGatewayIds: []string{ids[i]}})
			if err != nil {
				if awserr.NotFound(err) {
					return false, "not visible yet", nil
				}
				return false, "", err
			}
			if len(out.NatGateways) == 0 {
				return false, "not visible yet", nil
			}
			n := out.NatGateways[0]
			switch n.State {
			case ec2types.NatGatewayStateAvailable:
				return true, string(n.State), nil
			case ec2types.NatGatewayStateFailed, ec2types.NatGatewayStateDeleted, ec2types.NatGatewayStateDeleting:
				return false, string(n.State), fmt.Errorf("nat gateway %s is %s: %s", ids[i], n.State, aws.ToString(n.FailureMessage))
			}
			return false, string(n.State), nil
		})
	})
}

func (b *Builder) routeTable(ctx context.Context, vpcID, role, az string, subnets []string, igwID, natID string) (string, error) {
	name := b.name(role, "rt")
	extra := []string{tags.Role, role}
	if az != "" {
		name = b.name(role, "rt", az)
		extra = append(extra, tags.AZ, az)
	}
	var rt *ec2types.RouteTable
	if vpcID != planned {
		p := ec2.NewDescribeRouteTablesPaginator(b.API, &ec2.DescribeRouteTablesInput{
			Filters: append(tags.EC2Filters(b.Env.Name, extra...), ec2types.Filter{Name: aws.String("vpc-id"), Values: []string{vpcID}}),
		})
		for p.HasMorePages() && rt == nil {
			page, err := p.NextPage(ctx)
			if err != nil {
				return "", fmt.Errorf("describe route tables: %w", err)
			}
			for i := range page.RouteTables {
				t := tags.FromEC2(page.RouteTables[i].Tags)
				if t[tags.Env] == b.Env.Name && t[tags.Role] == role && (az == "" || t[tags.AZ] == az) {
					rt = &page.RouteTables[i]
					break
				}
			}
		}
	}
	if rt == nil {
		if b.DryRun {
			b.record(step.WouldCreate, "route table", planned, name)
			return planned, nil
		}
		out, err := b.API.CreateRouteTable(ctx, &ec2.CreateRouteTableInput{
			VpcId:             &vpcID,
			TagSpecifications: tags.EC2Spec(ec2types.ResourceTypeRouteTable, b.Tags.Map(name, extra...)),
		})
		if err != nil {
			return "", fmt.Errorf("create route table %s: %w", name, err)
		}
		rt = out.RouteTable
		b.record(step.Created, "route table", aws.ToString(rt.RouteTableId), name)
	} else {
		b.record(step.Kept, "route table", aws.ToString(rt.RouteTableId), name)
	}
	id := aws.ToString(rt.RouteTableId)
	if b.DryRun {
		return id, nil
	}
	if err := b.defaultRoute(ctx, rt, igwID, natID); err != nil {
		return "", err
	}
	if err := b.associate(ctx, vpcID, id, subnets); err != nil {
		return "", err
	}
	return id, nil
}

func (b *Builder) defaultRoute(ctx context.Context, rt *ec2types.RouteTable, igwID, natID string) error {
	if igwID == "" && natID == "" {
		return nil
	}
	id := aws.ToString(rt.RouteTableId)
	for _, r := range rt.Routes {
		if aws.ToString(r.DestinationCidrBlock) != "0.0.0.0/0" {
			continue
		}
		if (igwID != "" && aws.ToString(r.GatewayId) == igwID) || (natID != "" && aws.ToString(r.NatGatewayId) == natID) {
			return nil
		}
		in := &ec2.ReplaceRouteInput{RouteTableId: &id, DestinationCidrBlock: aws.String("0.0.0.0/0")}
		if igwID != "" {
			in.GatewayId = &igwID
		} else {
			in.NatGatewayId = &natID
		}
		if _, err := b.API.ReplaceRoute(ctx, in); err != nil {
			return fmt.Errorf("replace default route of %s: %w", id, err)
		}
		return nil
	}
	in := &ec2.CreateRouteInput{RouteTableId: &id, DestinationCidrBlock: aws.String("0.0.0.0/0")}
	if igwID != "" {
		in.GatewayId = &igwID
	} else {
		in.NatGatewayId = &natID
	}
	if _, err := b.API.CreateRoute(ctx, in); err != nil && !awserr.Exists(err) {
		return fmt.Errorf("create default route in %s: %w", id, err)
	}
	return nil
}

// associate makes rtID the route table of each subnet, replacing another
// explicit association if there is one.
func (b *Builder) associate(ctx context.Context, vpcID, rtID string, subnets []string) error {
	current := map[string]ec2types.RouteTableAssociation{}
	p := ec2.NewDescribeRouteTablesPaginator(b.API, &ec2.DescribeRouteTablesInput{
		Filters: []ec2types.Filter{{Name: aws.String("association.subnet-id"), Values: subnets}},
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("describe route tables: %w", err)
		}
		for _, rt := range page.RouteTables {
			for _, a := range rt.Associations {
				if a.SubnetId != nil {
					current[*a.SubnetId] = a
				}
			}
		}
	}
	for _, s := range subnets {
		a, ok := current[s]
		switch {
		case ok && aws.ToString(a.RouteTableId) == rtID:
			continue
		case ok:
			if _, err := b.API.ReplaceRouteTableAssociation(ctx, &ec2.ReplaceRouteTableAssociationInput{
				AssociationId: a.RouteTableAssociationId, RouteTableId: &rtID,
			}); err != nil {
				return fmt.Errorf("associate subnet %s with %s: %w", s, rtID, err)
			}
		default:
			if _, err := b.API.AssociateRouteTable(ctx, &ec2.AssociateRouteTableInput{RouteTableId: &rtID, SubnetId: aws.String(s)}); err != nil && !awserr.Exists(err) {
				return fmt.Errorf("associate subnet %s with %s: %w", s, rtID, err)
			}
		}
	}
	return nil
}

func (b *Builder) securityGroup(ctx context.Context, vpcID string) (string, error) {
	name := b.name("base")
	var sg *ec2types.SecurityGroup
	if vpcID != planned {
		p := ec2.NewDescribeSecurityGroupsPaginator(b.API, &ec2.DescribeSecurityGroupsInput{
			Filters: append(tags.EC2Filters(b.Env.Name, tags.Role, RoleBase), ec2types.Filter{Name: aws.String("vpc-id"), Values: []string{vpcID}}),
		})
		for p.HasMorePages() && sg == nil {
			page, err := p.NextPage(ctx)
			if err != nil {
				return "", fmt.Errorf("describe security groups: %w", err)
			}
			for i := range page.SecurityGroups {
				if tags.IsEnv(page.SecurityGroups[i].Tags, b.Env.Name) {
					sg = &page.SecurityGroups[i]
					break
				}
			}
		}
	}
	if sg == nil {
		if b.DryRun {
			b.record(step.WouldCreate, "security group", planned, name)
			return planned, nil
		}
		out, err := b.API.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
			GroupName:         &name,
			Description:       aws.String("stagehand " + b.Env.Name + ": traffic between the environment's own resources"),
			VpcId:             &vpcID,
			TagSpecifications: tags.EC2Spec(ec2types.ResourceTypeSecurityGroup, b.Tags.Map(name, tags.Role, RoleBase)),
		})
		if err != nil {
			return "", fmt.Errorf("create security group %s: %w", name, err)
		}
		sg = &ec2types.SecurityGroup{GroupId: out.GroupId}
		b.record(step.Created, "security group", aws.ToString(out.GroupId), name)
	} else {
		b.record(step.Kept, "security group", aws.ToString(sg.GroupId), name)
	}
	id := aws.ToString(sg.GroupId)
	for _, perm := range sg.IpPermissions {
		for _, pair := range perm.UserIdGroupPairs {
			if aws.ToString(perm.IpProtocol) == "-1" && aws.ToString(pair.GroupId) == id {
				return id, nil
			}
		}
	}
	if b.DryRun {
		return id, nil
	}
	_, err := b.API.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{
		GroupId: &id,
		IpPermissions: []ec2types.IpPermission{{
			IpProtocol:       aws.String("-1"),
			UserIdGroupPairs: []ec2types.UserIdGroupPair{{GroupId: &id, Description: aws.String("members of " + name)}},
		}},
	})
	if err != nil && !awserr.Exists(err) {
		return "", fmt.Errorf("allow traffic within %s: %w", id, err)
	}
	return id, nil
}
