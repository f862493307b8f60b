package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/smithy-go"

	"github.com/stagehand/stagehand/shared/awserr"
	"github.com/stagehand/stagehand/shared/step"
	"github.com/stagehand/stagehand/shared/tags"
	"github.com/stagehand/stagehand/shared/wait"
)

// Summary kinds of the IAM resources, the same as the teardown kinds.
const (
	kindRole    = "iam role"
	kindProfile = "iam instance profile"
)

// IAMPropagating reports whether err is EC2's or Auto Scaling's refusal of
// an instance profile that IAM has not propagated to them yet ("Value (...)
// for parameter iamInstanceProfile.arn is invalid", "Invalid
// IamInstanceProfile"). It clears by itself within a minute or two. The
// codes (ValidationError, InvalidParameterValue) are the services' generic
// ones, so the message must name the instance profile as well: any other
// validation error fails at once.
func IAMPropagating(err error) bool {
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) {
		return false
	}
	switch apiErr.ErrorCode() {
	case "ValidationError", "InvalidParameterValue":
		return strings.Contains(strings.ToLower(apiErr.ErrorMessage()), "iaminstanceprofile")
	}
	return false
}

// retryIAM calls fn until IAM's propagation of a new instance profile lets
// it through, within b.IAMBudget.
func (b *Builder) retryIAM(ctx context.Context, t wait.Target, fn func(ctx context.Context) error) error {
	return wait.Retry(ctx, b.Log, t, b.iamBudget(), b.retryInterval(), IAMPropagating, fn)
}

func getRole(ctx context.Context, api IAMAPI, name string) (*iamtypes.Role, error) {
	out, err := api.GetRole(ctx, &iam.GetRoleInput{RoleName: &name})
	if awserr.NotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get iam role %s: %w", name, err)
	}
	return out.Role, nil
}

func getInstanceProfile(ctx context.Context, api IAMAPI, name string) (*iamtypes.InstanceProfile, error) {
	out, err := api.GetInstanceProfile(ctx, &iam.GetInstanceProfileInput{InstanceProfileName: &name})
	if awserr.NotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get iam instance profile %s: %w", name, err)
	}
	return out.InstanceProfile, nil
}

// roleSpec is what one role of the environment must be.
type roleSpec struct {
	name        string
	description string
	principal   string
	managed     []string          // managed policy ARNs
	inline      map[string]string // inline policy name -> document
}

// role makes the role exist with its policies and returns its ARN. A role
// created by a run that was killed before it attached its policies gets
// them now.
func (b *Builder) role(ctx context.Context, have *iamtypes.Role, spec roleSpec) (string, error) {
	if have == nil {
		if b.DryRun {
			b.record(step.WouldCreate, kindRole, planned, spec.name)
			return planned, nil
		}
		out, err := b.IAM.CreateRole(ctx, &iam.CreateRoleInput{
			RoleName:                 &spec.name,
			AssumeRolePolicyDocument: aws.String(trustPolicy(spec.principal)),
			Description:              &spec.description,
			Tags:                     tags.IAM(b.Tags.Map(spec.name)),
		})
		if err != nil {
			return "", fmt.Errorf("create iam role %s: %w", spec.name, err)
		}
		if err := b.rolePolicies(ctx, spec, true); err != nil {
			return "", err
		}
		b.record(step.Created, kindRole, aws.ToString(out.Role.Arn), spec.name)
		return aws.ToString(out.Role.Arn), nil
	}
	arn := aws.ToString(have.Arn)
	changed, err := b.rolePoliciesChanged(ctx, spec)
	if err != nil {
		return "", err
	}
	switch {
	case len(changed) == 0:
		b.record(step.Kept, kindRole, arn, spec.name)
	case b.DryRun:
		b.record(step.WouldUpdate, kindRole, arn, spec.name+": "+strings.Join(changed, ", "))
	default:
		if err := b.rolePolicies(ctx, spec, false); err != nil {
			return "", err
		}
		b.record(step.Updated, kindRole, arn, spec.name+": "+strings.Join(changed, ", "))
	}
	return arn, nil
}

// rolePoliciesChanged lists what of the role's policies differs from spec.
func (b *Builder) rolePoliciesChanged(ctx context.Context, spec roleSpec) ([]string, error) {
	attached, err := attachedPolicies(ctx, b.IAM, spec.name)
	if err != nil {
		return nil, err
	}
	var changed []string
	for _, p := range spec.managed {
		if !attached[p] {
			changed = append(changed, "attach "+p)
		}
	}
	for _, name := range tags.Keys(spec.inline) {
		out, err := b.IAM.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: &spec.name, PolicyName: &name})
		switch {
		case awserr.NotFound(err):
			changed = append(changed, "add inline policy "+name)
		case err != nil:
			return nil, fmt.Errorf("get inline policy %s of iam role %s: %w", name, spec.name, err)
		case !samePolicy(aws.ToString(out.PolicyDocument), spec.inline[name]):
			changed = append(changed, "update inline policy "+name)
		}
	}
	return changed, nil
}

// rolePolicies attaches the managed policies and puts the inline ones.
// Both calls are idempotent, so on a fresh role they need no look-up.
func (b *Builder) rolePolicies(ctx context.Context, spec roleSpec, fresh bool) error {
	attached := map[string]bool{}
	if !fresh {
		var err error
		if attached, err = attachedPolicies(ctx, b.IAM, spec.name); err != nil {
			return err
		}
	}
	for _, p := range spec.managed {
		if attached[p] {
			continue
		}
		if _, err := b.IAM.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: &spec.name, PolicyArn: aws.String(p)}); err != nil {
			return fmt.Errorf("attach policy %s to iam role %s: %w", p, spec.name, err)
		}
	}
	for _, name := range tags.Keys(spec.inline) {
		if _, err := b.IAM.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: &spec.name, PolicyName: aws.String(name), PolicyDocument: aws.String(spec.inline[name])}); err != nil {
			return fmt.Errorf("put inline policy %s on iam role %s: %w", name, spec.name, err)
		}
	}
	return nil
}

func attachedPolicies(ctx context.Context, api IAMAPI, role string) (map[string]bool, error) {
	out := map[string]bool{}
	p := iam.NewListAttachedRolePoliciesPaginator(api, &iam.ListAttachedRolePoliciesInput{RoleName: &role})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list policies attached to iam role %s: %w", role, err)
		}
		for _, a := range page.AttachedPolicies {
			out[aws.ToString(a.PolicyArn)] = true
		}
	}
	return out, nil
}

// instanceProfile makes the profile exist holding role and returns its ARN.
func (b *Builder) instanceProfile(ctx context.Context, have *iamtypes.InstanceProfile, name, role string) (string, error) {
	if have == nil {
		if b.DryRun {
			b.record(step.WouldCreate, kindProfile, planned, name)
			return planned, nil
		}
		out, err := b.IAM.CreateInstanceProfile(ctx, &iam.CreateInstanceProfileInput{
			InstanceProfileName: &name, Tags: tags.IAM(b.Tags.Map(name)),
		})
		if err != nil {
			return "", fmt.Errorf("create iam instance profile %s: %w", name, err)
		}
		if _, err := b.IAM.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: &name, RoleName: &role}); err != nil {
			return "", fmt.Errorf("add iam role %s to instance profile %s: %w", role, name, err)
		}
		arn := aws.ToString(out.InstanceProfile.Arn)
		b.record(step.Created, kindProfile, arn, name)
		return arn, nil
	}
	arn := aws.ToString(have.Arn)
	for _, r := range have.Roles {
		if aws.ToString(r.RoleName) == role {
			b.record(step.Kept, kindProfile, arn, name)
			return arn, nil
		}
		return "", fmt.Errorf("iam instance profile %s holds role %s, not %s (a profile holds one role): remove it or run destroy-ecs first", name, aws.ToString(r.RoleName), role)
	}
	if b.DryRun {
		b.record(step.WouldUpdate, kindProfile, arn, name+": add role "+role)
		return arn, nil
	}
	if _, err := b.IAM.AddRoleToInstanceProfile(ctx, &iam.AddRoleToInstanceProfileInput{InstanceProfileName: &name, RoleName: &role}); err != nil {
		return "", fmt.Errorf("add iam role %s to instance profile %s: %w", role, name, err)
	}
	b.record(step.Updated, kindProfile, arn, name+": add role "+role)
	return arn, nil
}
