package cluster

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/stagehand/stagehand/shared/awserr"
	"github.com/stagehand/stagehand/shared/resource"
	"github.com/stagehand/stagehand/shared/tags"
	"github.com/stagehand/stagehand/shared/wait"
)

// IAM has no tag filter. The environment's roles and instance profiles are
// the ones whose names start with "<env>-" (every stagehand name does) and
// whose tags say so, plus those the artifact records.

type instanceProfiles struct{ s *Scope }

func (k *instanceProfiles) Kind() string { return kindProfile }

func (k *instanceProfiles) List(ctx context.Context) ([]resource.Resource, error) {
	names := []string{k.s.names().InstanceProfile}
	var fromArtifact []string
	if a := k.s.Artifact; a != nil && a.InstanceProfileName != "" {
		fromArtifact = append(fromArtifact, a.InstanceProfileName)
	}
	p := iam.NewListInstanceProfilesPaginator(k.s.IAM, &iam.ListInstanceProfilesInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list iam instance profiles: %w", err)
		}
		for _, ip := range page.InstanceProfiles {
			names = append(names, aws.ToString(ip.InstanceProfileName))
		}
	}
	var rs []resource.Resource
	for _, name := range uniqueWithPrefix(names, k.s.Env+"-", fromArtifact) {
		ip, err := getInstanceProfile(ctx, k.s.IAM, name)
		if err != nil {
			return nil, err
		}
		if ip == nil || !(k.s.owned(tags.FromIAM(ip.Tags)) || contains(fromArtifact, name)) {
			continue
		}
		var roles []string
		for _, r := range ip.Roles {
			roles = append(roles, aws.ToString(r.RoleName))
		}
		rs = append(rs, resource.Resource{Kind: k.Kind(), ID: name, Name: name, Detail: "roles: " + strings.Join(roles, ","),
			Ref: map[string]string{"roles": strings.Join(roles, ",")}})
	}
	return rs, nil
}

// uniqueWithPrefix returns the names that start with prefix, and those of
// always, once each.
func uniqueWithPrefix(names []string, prefix string, always []string) []string {
	var out []string
	for _, n := range append(append([]string{}, always...), names...) {
		if (strings.HasPrefix(n, prefix) || contains(always, n)) && !contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// Remove takes the roles out of the profile, then deletes it.
func (k *instanceProfiles) Remove(ctx context.Context, r resource.Resource) error {
	for _, role := range splitList(r.Ref["roles"]) {
		_, err := k.s.IAM.RemoveRoleFromInstanceProfile(ctx, &iam.RemoveRoleFromInstanceProfileInput{InstanceProfileName: &r.ID, RoleName: aws.String(role)})
		if err != nil && !awserr.NotFound(err) {
			return fmt.Errorf("remove iam role %s from the profile: %w", role, err)
		}
	}
	blockers := func(ctx context.Context) string {
		ip, err := getInstanceProfile(ctx, k.s.IAM, r.ID)
		if err != nil || ip == nil || len(ip.Roles) == 0 {
			return ""
		}
		var roles []string
		for _, role := range ip.Roles {
			roles = append(roles, aws.ToString(role.RoleName))
		}
		return "the profile still holds role(s) " + strings.Join(roles, ", ")
	}
	return k.s.retryDependency(ctx, wait.Target{Kind: k.Kind(), ID: r.ID}, blockers, func(ctx context.Context) error {
		_, err := k.s.IAM.DeleteInstanceProfile(ctx, &iam.DeleteInstanceProfileInput{InstanceProfileName: &r.ID})
		return err
	})
}

type roles struct{ s *Scope }

func (k *roles) Kind() string { return kindRole }

func (k *roles) List(ctx context.Context) ([]resource.Resource, error) {
	n := k.s.names()
	names := []string{n.InstanceRole, n.ExecutionRole}
	var fromArtifact []string
	if a := k.s.Artifact; a != nil {
		for _, name := range []string{a.InstanceRoleName, a.ExecutionRoleName} {
			if name != "" {
				fromArtifact = append(fromArtifact, name)
			}
		}
	}
	p := iam.NewListRolesPaginator(k.s.IAM, &iam.ListRolesInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list iam roles: %w", err)
		}
		for _, r := range page.Roles {
			names = append(names, aws.ToString(r.RoleName))
		}
	}
	var rs []resource.Resource
	for _, name := range uniqueWithPrefix(names, k.s.Env+"-", fromArtifact) {
		role, err := getRole(ctx, k.s.IAM, name)
		if err != nil {
			return nil, err
		}
		if role == nil || !(k.s.owned(tags.FromIAM(role.Tags)) || contains(fromArtifact, name)) {
			continue
		}
		rs = append(rs, resource.Resource{Kind: k.Kind(), ID: name, Name: name, Detail: aws.ToString(role.Arn)})
	}
	return rs, nil
}

// Remove detaches the role's managed policies, deletes its inline ones and
// deletes it. IAM answers DeleteConflict while it still sees something
// attached (its own eventual consistency, or an instance profile holding
// the role): that is retried within the budget, and then the error says
// what is still attached.
func (k *roles) Remove(ctx context.Context, r resource.Resource) error {
	attached, err := attachedPolicies(ctx, k.s.IAM, r.ID)
	if awserr.NotFound(err) {
		return resource.ErrGone
	}
	if err != nil {
		return err
	}
	for _, arn := range sortedKeys(attached) {
		_, err := k.s.IAM.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: &r.ID, PolicyArn: aws.String(arn)})
		if err != nil && !awserr.NotFound(err) {
			return fmt.Errorf("detach policy %s: %w", arn, err)
		}
	}
	inline, err := inlinePolicies(ctx, k.s.IAM, r.ID)
	if awserr.NotFound(err) {
		return resource.ErrGone
	}
	if err != nil {
		return err
	}
	for _, name := range inline {
		_, err := k.s.IAM.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: &r.ID, PolicyName: aws.String(name)})
		if err != nil && !awserr.NotFound(err) {
			return fmt.Errorf("delete inline policy %s: %w", name, err)
		}
	}
	return k.s.retryDependency(ctx, wait.Target{Kind: k.Kind(), ID: r.ID}, func(ctx context.Context) string { return k.attachments(ctx, r.ID) }, func(ctx context.Context) error {
		_, err := k.s.IAM.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: &r.ID})
		return err
	})
}

// attachments says what still hangs on a role, for the error when it
// refuses to go.
func (k *roles) attachments(ctx context.Context, role string) string {
	var parts []string
	p := iam.NewListInstanceProfilesForRolePaginator(k.s.IAM, &iam.ListInstanceProfilesForRoleInput{RoleName: &role})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			break
		}
		for _, ip := range page.InstanceProfiles {
			parts = append(parts, "in instance profile "+aws.ToString(ip.InstanceProfileName))
		}
	}
	if attached, err := attachedPolicies(ctx, k.s.IAM, role); err == nil {
		for _, arn := range sortedKeys(attached) {
			parts = append(parts, "managed policy "+arn+" attached")
		}
	}
	if inline, err := inlinePolicies(ctx, k.s.IAM, role); err == nil {
		for _, name := range inline {
			parts = append(parts, "inline policy "+name)
		}
	}
	return strings.Join(parts, "; ")
}

func inlinePolicies(ctx context.Context, api IAMAPI, role string) ([]string, error) {
	var out []string
	p := iam.NewListRolePoliciesPaginator(api, &iam.ListRolePoliciesInput{RoleName: &role})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list inline policies of iam role %s: %w", role, err)
		}
		out = append(out, page.PolicyNames...)
	}
	return out, nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
