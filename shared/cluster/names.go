package cluster

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
)

// CreateStep is the step that creates the cluster resources; its name is
// their stagehand:step tag.
const CreateStep = "bootstrap-ecs"

// Names are the names of an environment's cluster resources: all of them
// start with the environment's name, so that they are found by name where
// the API has no tag filter (IAM, capacity providers) and then checked for
// the environment's tags.
type Names struct {
	Cluster          string
	InstanceRole     string
	InstanceProfile  string
	ExecutionRole    string
	LaunchTemplate   string
	AutoScalingGroup string
	CapacityProvider string
}

// NamesFor returns the names of environment env's cluster resources.
func NamesFor(env string) Names {
	return Names{
		Cluster:          env,
		InstanceRole:     env + "-ecs-instance",
		InstanceProfile:  env + "-ecs-instance",
		ExecutionRole:    env + "-ecs-task-execution",
		LaunchTemplate:   env + "-ecs",
		AutoScalingGroup: env + "-ecs",
		CapacityProvider: env + "-ec2",
	}
}

// Fargate capacity providers, which every account has and nobody deletes.
const (
	ProviderFargate     = "FARGATE"
	ProviderFargateSpot = "FARGATE_SPOT"
)

// reservedProviderPrefixes cannot start a capacity provider's name.
var reservedProviderPrefixes = []string{"aws", "ecs", "fargate"}

// CheckProviderName returns an error when ECS would refuse name as the name
// of a capacity provider.
func CheckProviderName(name string) error {
	lower := strings.ToLower(name)
	for _, p := range reservedProviderPrefixes {
		if strings.HasPrefix(lower, p) {
			return fmt.Errorf("capacity provider name %q: ECS reserves names starting with %q; an environment with ec2 capacity needs a name that does not start with aws, ecs or fargate", name, p)
		}
	}
	return nil
}

// Partition returns the partition ("aws", "aws-cn", "aws-us-gov") of an ARN,
// "aws" when arn is not one.
func Partition(arn string) string {
	parts := strings.SplitN(arn, ":", 3)
	if len(parts) == 3 && parts[0] == "arn" && parts[1] != "" {
		return parts[1]
	}
	return "aws"
}

// Service principals and AWS managed policies of the two roles.
const (
	ec2Principal      = "ec2.amazonaws.com"
	ecsTasksPrincipal = "ecs-tasks.amazonaws.com"
	instancePolicy    = "service-role/AmazonEC2ContainerServiceforEC2Role"
	executionPolicy   = "service-role/AmazonECSTaskExecutionRolePolicy"
	// SecretsPolicyName is the inline policy of the execution role that lets
	// tasks read the environment's secrets.
	SecretsPolicyName = "stagehand-read-secrets"
)

func managedPolicyARN(partition, name string) string {
	return fmt.Sprintf("arn:%s:iam::aws:policy/%s", partition, name)
}

type policyDocument struct {
	Version   string            `json:"Version"`
	Statement []policyStatement `json:"Statement"`
}

type policyStatement struct {
	Sid       string            `json:"Sid,omitempty"`
	Effect    string            `json:"Effect"`
	Principal map[string]string `json:"Principal,omitempty"`
	Action    []string          `json:"Action"`
	Resource  []string          `json:"Resource,omitempty"`
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// trustPolicy lets service assume the role.
func trustPolicy(service string) string {
	return mustJSON(policyDocument{Version: "2012-10-17", Statement: []policyStatement{{
		Effect: "Allow", Principal: map[string]string{"Service": service}, Action: []string{"sts:AssumeRole"},
	}}})
}

// secretsPolicy lets the task execution role read the secrets and
// parameters of the environment's own account and region, which the
// services' task definitions reference by ARN.
func secretsPolicy(partition, region, account string) string {
	return mustJSON(policyDocument{Version: "2012-10-17", Statement: []policyStatement{
		{
			Sid: "ReadEnvironmentSecrets", Effect: "Allow", Action: []string{"secretsmanager:GetSecretValue"},
			Resource: []string{fmt.Sprintf("arn:%s:secretsmanager:%s:%s:secret:*", partition, region, account)},
		},
		{
			Sid: "ReadEnvironmentParameters", Effect: "Allow", Action: []string{"ssm:GetParameters"},
			Resource: []string{fmt.Sprintf("arn:%s:ssm:%s:%s:parameter/*", partition, region, account)},
		},
	}})
}

// samePolicy reports whether two policy documents say the same; IAM returns
// documents URL-encoded and may reorder or reformat them.
func samePolicy(got, want string) bool {
	if dec, err := url.QueryUnescape(got); err == nil {
		got = dec
	}
	var a, b any
	if json.Unmarshal([]byte(got), &a) != nil || json.Unmarshal([]byte(want), &b) != nil {
		return false
	}
	return mustJSON(normalize(a)) == mustJSON(normalize(b))
}

// normalize makes single strings and one-element lists, which IAM treats
// alike, compare equal.
func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = normalize(e)
		}
		return out
	case []any:
		if len(x) == 1 {
			if s, ok := x[0].(string); ok {
				return s
			}
		}
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalize(e)
		}
		return out
	}
	return v
}

// userData is the instance user data: it tells the ECS agent its cluster.
func userData(cluster string) string {
	return "#!/bin/bash\ncat >> /etc/ecs/ecs.config <<'EOF'\nECS_CLUSTER=" + cluster + "\nEOF\n"
}
