package workload

import (
	"context"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/stagehand/stagehand/shared/step"
	"github.com/stagehand/stagehand/shared/tags"
)

// EnsureTaskDefinition returns the ARN of a task definition revision of
// in.Family that is what in asks for. It registers a new revision only when
// the latest ACTIVE revision carrying the environment's tag differs from in
// (changed is then true); otherwise it returns that revision's ARN.
//
// The comparison covers what in sets: fields in leaves nil or zero keep
// whatever ECS filled in (hostPort, essential, protocol, ...), while lists
// and maps are compared whole (lists of objects in any order), so removing
// an environment variable or a secret is a change. Tags are not part of a
// revision and are not compared.
func (b *Builder) EnsureTaskDefinition(ctx context.Context, in *ecs.RegisterTaskDefinitionInput) (arn string, changed bool, err error) {
	family := aws.ToString(in.Family)
	latest, err := latestRevision(ctx, b.ECS, family)
	if err != nil {
		return "", false, err
	}
	if latest != "" {
		out, err := b.ECS.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{
			TaskDefinition: &latest, Include: []ecstypes.TaskDefinitionField{ecstypes.TaskDefinitionFieldTags},
		})
		if err != nil {
			return "", false, fmt.Errorf("describe task definition %s: %w", latest, err)
		}
		if tags.Is(tags.FromECS(out.Tags), b.Env) && SameTaskDefinition(in, out.TaskDefinition) {
			b.record(step.Kept, KindTaskDefinition, latest, family)
			return latest, false, nil
		}
	}
	if b.DryRun {
		what := family
		if latest != "" {
			what += " (new revision)"
		}
		b.would(latest != "", KindTaskDefinition, latest, what)
		return Planned, true, nil
	}
	out, err := b.ECS.RegisterTaskDefinition(ctx, in)
	if err != nil {
		return "", false, fmt.Errorf("register task definition %s: %w", family, err)
	}
	arn = aws.ToString(out.TaskDefinition.TaskDefinitionArn)
	action := step.Created
	if latest != "" {
		action = step.Updated
	}
	b.record(action, KindTaskDefinition, arn, family)
	return arn, true, nil
}

// latestRevision returns the ARN of the highest ACTIVE revision of family,
// or "" when there is none.
func latestRevision(ctx context.Context, api ecs.ListTaskDefinitionsAPIClient, family string) (string, error) {
	arns, err := activeRevisions(ctx, api, family)
	if err != nil || len(arns) == 0 {
		return "", err
	}
	best, bestRev := "", -1
	for _, a := range arns {
		if _, rev := familyRevision(a); rev > bestRev {
			best, bestRev = a, rev
		}
	}
	return best, nil
}

// activeRevisions lists the ARNs of the ACTIVE revisions of family (exactly
// that family: ECS's familyPrefix is checked again on each ARN).
func activeRevisions(ctx context.Context, api ecs.ListTaskDefinitionsAPIClient, family string) ([]string, error) {
	var arns []string
	p := ecs.NewListTaskDefinitionsPaginator(api, &ecs.ListTaskDefinitionsInput{
		FamilyPrefix: &family, Status: ecstypes.TaskDefinitionStatusActive, Sort: ecstypes.SortOrderDesc,
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list task definitions of family %s: %w", family, err)
		}
		for _, a := range page.TaskDefinitionArns {
			if f, _ := familyRevision(a); f == family {
				arns = append(arns, a)
			}
		}
	}
	return arns, nil
}

// familyRevision splits ".../task-definition/FAMILY:REV".
func familyRevision(arn string) (string, int) {
	s := arn[strings.LastIndex(arn, "/")+1:]
	i := strings.LastIndex(s, ":")
	if i < 0 {
		return s, 0
	}
	rev, _ := strconv.Atoi(s[i+1:])
	return s[:i], rev
}

// SameTaskDefinition reports whether the registered definition td already
// is what in asks for (see EnsureTaskDefinition for what is compared).
func SameTaskDefinition(in *ecs.RegisterTaskDefinitionInput, td *ecstypes.TaskDefinition) bool {
	if td == nil {
		return false
	}
	want := *in
	want.Tags = nil
	// The registered definition, in the shape of the input: every field the
	// two types share by name and type.
	var got ecs.RegisterTaskDefinitionInput
	dst, src := reflect.ValueOf(&got).Elem(), reflect.ValueOf(td).Elem()
	for i := 0; i < dst.NumField(); i++ {
		f := dst.Type().Field(i)
		if !f.IsExported() {
			continue
		}
		if s := src.FieldByName(f.Name); s.IsValid() && s.Type() == f.Type {
			dst.Field(i).Set(s)
		}
	}
	return covers(reflect.ValueOf(want), reflect.ValueOf(got))
}

// covers reports whether got holds everything want sets. Nil pointers and
// zero scalars in want are "not asked for"; lists and maps must match
// whole, lists of objects in any order.
func covers(want, got reflect.Value) bool {
	switch want.Kind() {
	case reflect.Pointer:
		if want.IsNil() {
			return true
		}
		if got.IsNil() {
			return covers(want.Elem(), reflect.Zero(want.Type().Elem()))
		}
		return covers(want.Elem(), got.Elem())
	case reflect.Struct:
		for i := 0; i < want.NumField(); i++ {
			if want.Type().Field(i).IsExported() && !covers(want.Field(i), got.Field(i)) {
				return false
			}
		}
		return true
	case reflect.Slice:
		if want.Len() != got.Len() {
			return false
		}
		elem := want.Type().Elem()
		if elem.Kind() == reflect.Pointer {
			elem = elem.Elem()
		}
		if elem.Kind() != reflect.Struct {
			for i := 0; i < want.Len(); i++ {
				if !covers(want.Index(i), got.Index(i)) {
					return false
				}
			}
			return true
		}
		used := make([]bool, got.Len())
	next:
		for i := 0; i < want.Len(); i++ {
			for j := 0; j < got.Len(); j++ {
				if !used[j] && covers(want.Index(i), got.Index(j)) {
					used[j] = true
					continue next
				}
			}
			return false
		}
		return true
	case reflect.Map:
		if want.Len() != got.Len() {
			return false
		}
		for _, k := range want.MapKeys() {
			g := got.MapIndex(k)
			if !g.IsValid() || !covers(want.MapIndex(k), g) {
				return false
			}
		}
		return true
	case reflect.Interface:
		return want.IsNil() || reflect.DeepEqual(want.Interface(), got.Interface())
	default:
		return want.IsZero() || want.Equal(got)
	}
}
