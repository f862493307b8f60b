package network

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/sirupsen/logrus"

	"github.com/stagehand/stagehand/shared/awserr"
	"github.com/stagehand/stagehand/shared/resource"
	"github.com/stagehand/stagehand/shared/tags"
	"github.com/stagehand/stagehand/shared/wait"
)

// SecurityGroupsAPI is what the security group kind calls.
type SecurityGroupsAPI interface {
	ec2.DescribeSecurityGroupsAPIClient
	ec2.DescribeNetworkInterfacesAPIClient
	RevokeSecurityGroupIngress(ctx context.Context, in *ec2.RevokeSecurityGroupIngressInput, optFns ...func(*ec2.Options)) (*ec2.RevokeSecurityGroupIngressOutput, error)
	RevokeSecurityGroupEgress(ctx context.Context, in *ec2.RevokeSecurityGroupEgressInput, optFns ...func(*ec2.Options)) (*ec2.RevokeSecurityGroupEgressOutput, error)
	DeleteSecurityGroup(ctx context.Context, in *ec2.DeleteSecurityGroupInput, optFns ...func(*ec2.Options)) (*ec2.DeleteSecurityGroupOutput, error)
}

// SecurityGroupSet says which security groups a kind covers: those tagged
// with the environment (and, when Step is set, created by that step), plus
// the ids an artifact recorded.
type SecurityGroupSet struct {
	API  SecurityGroupsAPI
	Env  string
	Step string
	IDs  []string
	Log  logrus.FieldLogger
	// DependencyBudget bounds the retries while network interfaces still use a group.
	DependencyBudget time.Duration
}

// SecurityGroups is the security group kind every destroy step shares: the
// rules that refer to other groups are revoked first, so that groups that
// refer to each other can go in any order; a group still in use is retried
// within the budget, then the error names the network interfaces using it.
func SecurityGroups(set SecurityGroupSet) resource.Kind { return &securityGroups{set} }

type securityGroups struct{ set SecurityGroupSet }

func (k *securityGroups) Kind() string { return "security group" }

func (k *securityGroups) groups(ctx context.Context) ([]ec2types.SecurityGroup, error) {
	var out []ec2types.SecurityGroup
	seen := map[string]bool{}
	add := func(in *ec2.DescribeSecurityGroupsInput, byTag bool) error {
		p := ec2.NewDescribeSecurityGroupsPaginator(k.set.API, in)
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return err
			}
			for _, g := range page.SecurityGroups {
				id := aws.ToString(g.GroupId)
				if aws.ToString(g.GroupName) == "default" || seen[id] {
					continue
				}
				if t := tags.FromEC2(g.Tags); byTag && (t[tags.Env] != k.set.Env || (k.set.Step != "" && t[tags.Step] != k.set.Step)) {
					continue
				}
				seen[id] = true
				out = append(out, g)
			}
		}
		return nil
	}
	var extra []string
	if k.set.Step != "" {
		extra = []string{tags.Step, k.set.Step}
	}
	if err := add(&ec2.DescribeSecurityGroupsInput{Filters: tags.EC2Filters(k.set.Env, extra...)}, true); err != nil {
		return nil, fmt.Errorf("describe security groups: %w", err)
	}
	for _, id := range k.set.IDs {
		if err := add(&ec2.DescribeSecurityGroupsInput{GroupIds: []string{id}}, false); err != nil && !awserr.NotFound(err) {
			return nil, fmt.Errorf("describe security group %s: %w", id, err)
		}
	}
	return out, nil
}

func (k *securityGroups) List(ctx context.Context) ([]resource.Resource, error) {
	gs, err := k.groups(ctx)
	if err != nil {
		return nil, err
	}
	rs := make([]resource.Resource, 0, len(gs))
	for _, g := range gs {
		rs = append(rs, resource.Resource{Kind: k.Kind(), ID: aws.ToString(g.GroupId), Name: aws.ToString(g.GroupName), Detail: aws.ToString(g.VpcId)})
	}
	return rs, nil
}

// Prepare revokes every rule that references another security group.
func (k *securityGroups) Prepare(ctx context.Context, rs []resource.Resource) error {
	want := map[string]bool{}
	for _, r := range rs {
		want[r.ID] = true
	}
	gs, err := k.groups(ctx)
	if err != nil {
		return err
	}
	for _, g := range gs {
		if !want[aws.ToString(g.GroupId)] {
			continue
		}
		if in := referencing(g.IpPermissions); len(in) > 0 {
			if _, err := k.set.API.RevokeSecurityGroupIngress(ctx, &ec2.RevokeSecurityGroupIngressInput{GroupId: g.GroupId, IpPermissions: in}); err != nil && !awserr.NotFound(err) {
				return fmt.Errorf("revoke ingress rules of %s: %w", aws.ToString(g.GroupId), err)
			}
		}
		if out := referencing(g.IpPermissionsEgress); len(out) > 0 {
			if _, err := k.set.API.RevokeSecurityGroupEgress(ctx, &ec2.RevokeSecurityGroupEgressInput{GroupId: g.GroupId, IpPermissions: out}); err != nil && !awserr.NotFound(err) {
				return fmt.Errorf("revoke egress rules of %s: %w", aws.ToString(g.GroupId), err)
			}
		}
	}
	return nil
}

// referencing returns the parts of perms that name other security groups.
func referencing(perms []ec2types.IpPermission) []ec2types.IpPermission {
	var out []ec2types.IpPermission
	for _, p := range perms {
		if len(p.UserIdGroupPairs) == 0 {
			continue
		}
		pairs := make([]ec2types.UserIdGroupPair, len(p.UserIdGroupPairs))
		for i, pair := range p.UserIdGroupPairs {
			pairs[i] = ec2types.UserIdGroupPair{GroupId: pair.GroupId}
		}
		out = append(out, ec2types.IpPermission{IpProtocol: p.IpProtocol, FromPort: p.FromPort, ToPort: p.ToPort, UserIdGroupPairs: pairs})
	}
	return out
}

func (k *securityGroups) Remove(ctx context.Context, r resource.Resource) error {
	blockers := func(ctx context.Context) string {
		return interfaces(ctx, k.set.API, ec2types.Filter{Name: aws.String("group-id"), Values: []string{r.ID}})
	}
	return retryDependency(ctx, k.set.Log, k.set.DependencyBudget, wait.Target{Kind: k.Kind(), ID: r.ID}, blockers, func(ctx context.Context) error {
		_, err := k.set.API.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: &r.ID})
		return err
	})
}
