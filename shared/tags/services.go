package tags

import (
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	efstypes "github.com/aws/aws-sdk-go-v2/service/efs/types"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
)

// Conversions of a tag map to each service's tag type, in a stable order.

// ECS converts a tag map to ECS tags.
func ECS(m map[string]string) []ecstypes.Tag {
	out := make([]ecstypes.Tag, 0, len(m))
	for _, k := range Keys(m) {
		k, v := k, m[k]
		out = append(out, ecstypes.Tag{Key: &k, Value: &v})
	}
	return out
}

// FromECS converts ECS tags to a map.
func FromECS(ts []ecstypes.Tag) map[string]string {
	m := make(map[string]string, len(ts))
	for _, t := range ts {
		if t.Key != nil && t.Value != nil {
			m[*t.Key] = *t.Value
		}
	}
	return m
}

// IAM converts a tag map to IAM tags.
func IAM(m map[string]string) []iamtypes.Tag {
	out := make([]iamtypes.Tag, 0, len(m))
	for _, k := range Keys(m) {
		k, v := k, m[k]
		out = append(out, iamtypes.Tag{Key: &k, Value: &v})
	}
	return out
}

// FromIAM converts IAM tags to a map.
func FromIAM(ts []iamtypes.Tag) map[string]string {
	m := make(map[string]string, len(ts))
	for _, t := range ts {
		if t.Key != nil && t.Value != nil {
			m[*t.Key] = *t.Value
		}
	}
	return m
}

// AutoScaling converts a tag map to tags of the auto scaling group name;
// propagate copies them onto the instances it launches.
func AutoScaling(group string, m map[string]string, propagate bool) []astypes.Tag {
	out := make([]astypes.Tag, 0, len(m))
	for _, k := range Keys(m) {
		k, v := k, m[k]
		out = append(out, astypes.Tag{Key: &k, Value: &v, ResourceId: &group, ResourceType: strp("auto-scaling-group"), PropagateAtLaunch: &propagate})
	}
	return out
}

// FromAutoScaling converts auto scaling group tags to a map.
func FromAutoScaling(ts []astypes.TagDescription) map[string]string {
	m := make(map[string]string, len(ts))
	for _, t := range ts {
		if t.Key != nil && t.Value != nil {
			m[*t.Key] = *t.Value
		}
	}
	return m
}

// ELB converts a tag map to Elastic Load Balancing tags.
func ELB(m map[string]string) []elbtypes.Tag {
	out := make([]elbtypes.Tag, 0, len(m))
	for _, k := range Keys(m) {
		k, v := k, m[k]
		out = append(out, elbtypes.Tag{Key: &k, Value: &v})
	}
	return out
}

// FromELB converts Elastic Load Balancing tags to a map.
func FromELB(ts []elbtypes.Tag) map[string]string {
	m := make(map[string]string, len(ts))
	for _, t := range ts {
		if t.Key != nil && t.Value != nil {
			m[*t.Key] = *t.Value
		}
	}
	return m
}

// SecretsManager converts a tag map to Secrets Manager tags.
func SecretsManager(m map[string]string) []smtypes.Tag {
	out := make([]smtypes.Tag, 0, len(m))
	for _, k := range Keys(m) {
		k, v := k, m[k]
		out = append(out, smtypes.Tag{Key: &k, Value: &v})
	}
	return out
}

// FromSecretsManager converts Secrets Manager tags to a map.
func FromSecretsManager(ts []smtypes.Tag) map[string]string {
	m := make(map[string]string, len(ts))
	for _, t := range ts {
		if t.Key != nil && t.Value != nil {
			m[*t.Key] = *t.Value
		}
	}
	return m
}

// EFS converts a tag map to EFS tags.
func EFS(m map[string]string) []efstypes.Tag {
	out := make([]efstypes.Tag, 0, len(m))
	for _, k := range Keys(m) {
		k, v := k, m[k]
		out = append(out, efstypes.Tag{Key: &k, Value: &v})
	}
	return out
}

// FromEFS converts EFS tags to a map.
func FromEFS(ts []efstypes.Tag) map[string]string {
	m := make(map[string]string, len(ts))
	for _, t := range ts {
		if t.Key != nil && t.Value != nil {
			m[*t.Key] = *t.Value
		}
	}
	return m
}

// Is reports whether a tag map carries stagehand:env=env.
func Is(m map[string]string, env string) bool { return m[Env] == env }
