// Package tags builds the tags every stagehand resource carries and the
// filters that find them again.
package tags

import (
	"sort"

	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// Tag keys.
const (
	Env  = "stagehand:env"
	Step = "stagehand:step"
	Run  = "stagehand:run"
	Name = "Name"
	// Role distinguishes resources of one kind within a step (e.g. public/private).
	Role = "stagehand:role"
	// AZ records the availability zone a per-AZ resource serves.
	AZ = "stagehand:az"
)

// Set is the identity every resource of one step run is tagged with.
type Set struct {
	Env  string
	Step string
	Run  string
}

// Map returns the tags for a resource called name, plus extra key/values.
func (s Set) Map(name string, extra ...string) map[string]string {
	m := map[string]string{Env: s.Env, Step: s.Step, Run: s.Run, Name: name}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i]] = extra[i+1]
	}
	return m
}

// Keys returns the map's keys in a stable order.
func Keys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// EC2 converts a tag map to EC2 tags.
func EC2(m map[string]string) []ec2types.Tag {
	out := make([]ec2types.Tag, 0, len(m))
	for _, k := range Keys(m) {
		k, v := k, m[k]
		out = append(out, ec2types.Tag{Key: &k, Value: &v})
	}
	return out
}

// EC2Spec is a TagSpecification so that creation and tagging are one call:
// a run killed right after a create leaves a resource the next run finds.
func EC2Spec(rt ec2types.ResourceType, m map[string]string) []ec2types.TagSpecification {
	return []ec2types.TagSpecification{{ResourceType: rt, Tags: EC2(m)}}
}

// EC2Filters returns filters matching the environment's tags and extra
// key/value tag pairs.
func EC2Filters(env string, extra ...string) []ec2types.Filter {
	f := []ec2types.Filter{{Name: strp("tag:" + Env), Values: []string{env}}}
	for i := 0; i+1 < len(extra); i += 2 {
		f = append(f, ec2types.Filter{Name: strp("tag:" + extra[i]), Values: []string{extra[i+1]}})
	}
	return f
}

// FromEC2 converts EC2 tags to a map.
func FromEC2(ts []ec2types.Tag) map[string]string {
	m := make(map[string]string, len(ts))
	for _, t := range ts {
		if t.Key != nil && t.Value != nil {
			m[*t.Key] = *t.Value
		}
	}
	return m
}

func strp(s string) *string { return &s }

// IsEnv reports whether EC2 tags carry stagehand:env=env. Everything found
// through a tag filter is checked again with it before it is used or
// deleted: a filter the API ignored must never widen what a step touches.
func IsEnv(ts []ec2types.Tag, env string) bool {
	for _, t := range ts {
		if t.Key != nil && *t.Key == Env {
			return t.Value != nil && *t.Value == env
		}
	}
	return false
}
