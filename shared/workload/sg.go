package workload

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/stagehand/stagehand/shared/awserr"
	"github.com/stagehand/stagehand/shared/step"
	"github.com/stagehand/stagehand/shared/tags"
)

// IngressRule admits TCP traffic on ports FromPort..ToPort (ToPort 0: just
// FromPort) from a CIDR block or from the members of another security
// group: exactly one of CIDR and SourceGroup is set.
type IngressRule struct {
	CIDR        string
	SourceGroup string
	FromPort    int32
	ToPort      int32
	Description string
}

func (r IngressRule) key() string {
	to := r.ToPort
	if to == 0 {
		to = r.FromPort
	}
	return fmt.Sprintf("tcp %d-%d from %s%s", r.FromPort, to, r.CIDR, r.SourceGroup)
}

func (r IngressRule) permission() ec2types.IpPermission {
	to := r.ToPort
	if to == 0 {
		to = r.FromPort
	}
	p := ec2types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(r.FromPort), ToPort: aws.Int32(to)}
	var desc *string
	if r.Description != "" {
		desc = aws.String(r.Description)
	}
	if r.CIDR != "" {
		p.IpRanges = []ec2types.IpRange{{CidrIp: aws.String(r.CIDR), Description: desc}}
	} else {
		p.UserIdGroupPairs = []ec2types.UserIdGroupPair{{GroupId: aws.String(r.SourceGroup), Description: desc}}
	}
	return p
}

// EnsureSecurityGroup makes the security group name exist in vpcID, tagged
// tagMap, admitting exactly ingress: missing rules are authorized, rules not
// in ingress are revoked (egress stays the default: everything). A group of
// that name not tagged with the environment is refused. It returns the
// group's id (Planned in a dry run when it does not exist yet).
func (b *Builder) EnsureSecurityGroup(ctx context.Context, vpcID, name, description string, ingress []IngressRule, tagMap map[string]string) (string, error) {
	var g *ec2types.SecurityGroup
	if vpcID != Planned {
		out, err := b.EC2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{Filters: []ec2types.Filter{
			{Name: aws.String("vpc-id"), Values: []string{vpcID}},
			{Name: aws.String("group-name"), Values: []string{name}},
		}})
		if err != nil {
			return "", fmt.Errorf("describe security group %s: %w", name, err)
		}
		for i := range out.SecurityGroups {
			if aws.ToString(out.SecurityGroups[i].GroupName) == name && aws.ToString(out.SecurityGroups[i].VpcId) == vpcID {
				g = &out.SecurityGroups[i]
			}
		}
	}
	if g == nil {
		if b.DryRun {
			b.would(false, KindSecurityGroup, "", name)
			return Planned, nil
		}
		out, err := b.EC2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{
			GroupName: &name, Description: &description, VpcId: &vpcID,
			TagSpecifications: tags.EC2Spec(ec2types.ResourceTypeSecurityGroup, tagMap),
		})
		if err != nil {
			return "", fmt.Errorf("create security group %s: %w", name, err)
		}
		id := aws.ToString(out.GroupId)
		b.record(step.Created, KindSecurityGroup, id, name)
		if _, err := b.reconcileIngress(ctx, id, nil, ingress); err != nil {
			return "", err
		}
		return id, nil
	}
	id := aws.ToString(g.GroupId)
	if err := b.owned(KindSecurityGroup, id, tags.FromEC2(g.Tags)); err != nil {
		return "", err
	}
	changes, err := b.reconcileIngress(ctx, id, g.IpPermissions, ingress)
	if err != nil {
		return "", err
	}
	switch {
	case changes == "":
		b.record(step.Kept, KindSecurityGroup, id, name)
	case b.DryRun:
		b.would(true, KindSecurityGroup, id, name+": "+changes)
	default:
		b.record(step.Updated, KindSecurityGroup, id, name+": "+changes)
	}
	return id, nil
}

// reconcileIngress authorizes the rules of want that have is missing and
// revokes those it has beyond want; it returns a description of the
// changes ("" when none). In a dry run it only describes them.
func (b *Builder) reconcileIngress(ctx context.Context, groupID string, has []ec2types.IpPermission, want []IngressRule) (string, error) {
	current := map[string]ec2types.IpPermission{}
	for _, p := range has {
		for k, n := range splitPermission(p) {
			current[k] = n
		}
	}
	wanted := map[string]bool{}
	var add []ec2types.IpPermission
	var changes []string
	for _, r := range want {
		k := r.key()
		wanted[k] = true
		if _, ok := current[k]; !ok {
			add = append(add, r.permission())
			changes = append(changes, "allow "+k)
		}
	}
	var remove []ec2types.IpPermission
	for k, p := range current {
		if !wanted[k] {
			remove = append(remove, p)
			changes = append(changes, "revoke "+k)
		}
	}
	sort.Strings(changes)
	if b.DryRun || groupID == Planned {
		return strings.Join(changes, ", "), nil
	}
	if len(add) > 0 {
		_, err := b.EC2.AuthorizeSecurityGroupIngress(ctx, &ec2.AuthorizeSecurityGroupIngressInput{GroupId: &groupID, IpPermissions: add})
		if err != nil && !awserr.Exists(err) {
			return "", fmt.Errorf("authorize ingress on security group %s: %w", groupID, err)
		}
	}
	if len(remove) > 0 {
		_, err := b.EC2.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: &groupID, IpPermissions: remove})
		if err != nil && !awserr.NotFound(err) {
			return "", fmt.Errorf("revoke ingress on security group %s: %w", groupID, err)
		}
	}
	return strings.Join(changes, ", "), nil
}

// splitPermission turns one permission into one narrowed permission per
// source, keyed like IngressRule.key (any protocol, so that rules which are
// not ours, say UDP, are revoked exactly as they are).
func splitPermission(p ec2types.IpPermission) map[string]ec2types.IpPermission {
	out := map[string]ec2types.IpPermission{}
	key := func(src string) string {
		return fmt.Sprintf("%s %d-%d from %s", aws.ToString(p.IpProtocol), aws.ToInt32(p.FromPort), aws.ToInt32(p.ToPort), src)
	}
	narrow := func() ec2types.IpPermission {
		return ec2types.IpPermission{IpProtocol: p.IpProtocol, FromPort: p.FromPort, ToPort: p.ToPort}
	}
	for _, r := range p.IpRanges {
		n := narrow()
		n.IpRanges = []ec2types.IpRange{{CidrIp: r.CidrIp}}
		out[key(aws.ToString(r.CidrIp))] = n
	}
	for _, r := range p.Ipv6Ranges {
		n := narrow()
		n.Ipv6Ranges = []ec2types.Ipv6Range{{CidrIpv6: r.CidrIpv6}}
		out[key(aws.ToString(r.CidrIpv6))] = n
	}
	for _, g := range p.UserIdGroupPairs {
		n := narrow()
		n.UserIdGroupPairs = []ec2types.UserIdGroupPair{{GroupId: g.GroupId}}
		out[key(aws.ToString(g.GroupId))] = n
	}
	for _, pl := range p.PrefixListIds {
		n := narrow()
		n.PrefixListIds = []ec2types.PrefixListId{{PrefixListId: pl.PrefixListId}}
		out[key(aws.ToString(pl.PrefixListId))] = n
	}
	return out
}
