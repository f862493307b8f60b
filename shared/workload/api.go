// Package workload runs an environment's containers on its ECS cluster and
// tears them down again. It holds the building blocks every step that runs
// an ECS service shares (run-containers for the manifest's services,
// provision-jenkins for Jenkins):
//
//   - Builder.EnsureLogGroup, EnsureTaskDefinition, EnsureService and
//     WaitStable for the ECS side;
//   - Builder.EnsureSecurityGroup, EnsureLoadBalancer, EnsureTargetGroup,
//     EnsureListeners (HTTP, or HTTPS with a certificate and HTTP
//     redirecting to it), EnsureListener and EnsureListenerRules for the
//     load balancer side;
//   - Kinds and Listers (teardown.go): the resource kinds, in teardown order,
//     filtered by environment AND step, for destroy steps and verify-clean;
//
// and Deploy (deploy.go), which turns the manifest (the environment file's
// "services") into all of the above for run-containers.
//
// Every Ensure finds what exists first (by name inside the environment's own
// account, checked against the stagehand:env tag, or by tags), creates only
// what is missing and updates only what differs, so a second run changes
// nothing and a killed run resumes. With Builder.DryRun nothing is changed:
// missing resources are recorded as "would create" and get the id Planned.
package workload

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
)

// ECSAPI is the part of ECS this package calls.
type ECSAPI interface {
	ecs.ListClustersAPIClient
	ecs.ListServicesAPIClient
	ecs.ListTaskDefinitionsAPIClient
	ecs.ListTaskDefinitionFamiliesAPIClient
	DescribeClusters(ctx context.Context, in *ecs.DescribeClustersInput, optFns ...func(*ecs.Options)) (*ecs.DescribeClustersOutput, error)
	DescribeServices(ctx context.Context, in *ecs.DescribeServicesInput, optFns ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error)
	DescribeTaskDefinition(ctx context.Context, in *ecs.DescribeTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error)
	RegisterTaskDefinition(ctx context.Context, in *ecs.RegisterTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.RegisterTaskDefinitionOutput, error)
	DeregisterTaskDefinition(ctx context.Context, in *ecs.DeregisterTaskDefinitionInput, optFns ...func(*ecs.Options)) (*ecs.DeregisterTaskDefinitionOutput, error)
	CreateService(ctx context.Context, in *ecs.CreateServiceInput, optFns ...func(*ecs.Options)) (*ecs.CreateServiceOutput, error)
	UpdateService(ctx context.Context, in *ecs.UpdateServiceInput, optFns ...func(*ecs.Options)) (*ecs.UpdateServiceOutput, error)
	DeleteService(ctx context.Context, in *ecs.DeleteServiceInput, optFns ...func(*ecs.Options)) (*ecs.DeleteServiceOutput, error)
}

// ELBAPI is the part of Elastic Load Balancing (v2) this package calls.
type ELBAPI interface {
	elb.DescribeLoadBalancersAPIClient
	elb.DescribeTargetGroupsAPIClient
	elb.DescribeListenersAPIClient
	elb.DescribeRulesAPIClient
	DescribeTags(ctx context.Context, in *elb.DescribeTagsInput, optFns ...func(*elb.Options)) (*elb.DescribeTagsOutput, error)
	CreateLoadBalancer(ctx context.Context, in *elb.CreateLoadBalancerInput, optFns ...func(*elb.Options)) (*elb.CreateLoadBalancerOutput, error)
	SetSecurityGroups(ctx context.Context, in *elb.SetSecurityGroupsInput, optFns ...func(*elb.Options)) (*elb.SetSecurityGroupsOutput, error)
	SetSubnets(ctx context.Context, in *elb.SetSubnetsInput, optFns ...func(*elb.Options)) (*elb.SetSubnetsOutput, error)
	DeleteLoadBalancer(ctx context.Context, in *elb.DeleteLoadBalancerInput, optFns ...func(*elb.Options)) (*elb.DeleteLoadBalancerOutput, error)
	CreateTargetGroup(ctx context.Context, in *elb.CreateTargetGroupInput, optFns ...func(*elb.Options)) (*elb.CreateTargetGroupOutput, error)
	ModifyTargetGroup(ctx context.Context, in *elb.ModifyTargetGroupInput, optFns ...func(*elb.Options)) (*elb.ModifyTargetGroupOutput, error)
	DescribeTargetGroupAttributes(ctx context.Context, in *elb.DescribeTargetGroupAttributesInput, optFns ...func(*elb.Options)) (*elb.DescribeTargetGroupAttributesOutput, error)
	ModifyTargetGroupAttributes(ctx context.Context, in *elb.ModifyTargetGroupAttributesInput, optFns ...func(*elb.Options)) (*elb.ModifyTargetGroupAttributesOutput, error)
	DeleteTargetGroup(ctx context.Context, in *elb.DeleteTargetGroupInput, optFns ...func(*elb.Options)) (*elb.DeleteTargetGroupOutput, error)
	CreateListener(ctx context.Context, in *elb.CreateListenerInput, optFns ...func(*elb.Options)) (*elb.CreateListenerOutput, error)
	ModifyListener(ctx context.Context, in *elb.ModifyListenerInput, optFns ...func(*elb.Options)) (*elb.ModifyListenerOutput, error)
	DeleteListener(ctx context.Context, in *elb.DeleteListenerInput, optFns ...func(*elb.Options)) (*elb.DeleteListenerOutput, error)
	CreateRule(ctx context.Context, in *elb.CreateRuleInput, optFns ...func(*elb.Options)) (*elb.CreateRuleOutput, error)
	ModifyRule(ctx context.Context, in *elb.ModifyRuleInput, optFns ...func(*elb.Options)) (*elb.ModifyRuleOutput, error)
	DeleteRule(ctx context.Context, in *elb.DeleteRuleInput, optFns ...func(*elb.Options)) (*elb.DeleteRuleOutput, error)
}

// LogsAPI is the part of CloudWatch Logs this package calls.
type LogsAPI interface {
	cloudwatchlogs.DescribeLogGroupsAPIClient
	CreateLogGroup(ctx context.Context, in *cloudwatchlogs.CreateLogGroupInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.CreateLogGroupOutput, error)
	PutRetentionPolicy(ctx context.Context, in *cloudwatchlogs.PutRetentionPolicyInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.PutRetentionPolicyOutput, error)
	ListTagsForResource(ctx context.Context, in *cloudwatchlogs.ListTagsForResourceInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.ListTagsForResourceOutput, error)
	DeleteLogGroup(ctx context.Context, in *cloudwatchlogs.DeleteLogGroupInput, optFns ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DeleteLogGroupOutput, error)
}

// EC2API is the part of EC2 this package calls (security groups).
type EC2API interface {
	ec2.DescribeSecurityGroupsAPIClient
	ec2.DescribeNetworkInterfacesAPIClient
	CreateSecurityGroup(ctx context.Context, in *ec2.CreateSecurityGroupInput, optFns ...func(*ec2.Options)) (*ec2.CreateSecurityGroupOutput, error)
	AuthorizeSecurityGroupIngress(ctx context.Context, in *ec2.AuthorizeSecurityGroupIngressInput, optFns ...func(*ec2.Options)) (*ec2.AuthorizeSecurityGroupIngressOutput, error)
	RevokeSecurityGroupIngress(ctx context.Context, in *ec2.RevokeSecurityGroupIngressInput, optFns ...func(*ec2.Options)) (*ec2.RevokeSecurityGroupIngressOutput, error)
	RevokeSecurityGroupEgress(ctx context.Context, in *ec2.RevokeSecurityGroupEgressInput, optFns ...func(*ec2.Options)) (*ec2.RevokeSecurityGroupEgressOutput, error)
	DeleteSecurityGroup(ctx context.Context, in *ec2.DeleteSecurityGroupInput, optFns ...func(*ec2.Options)) (*ec2.DeleteSecurityGroupOutput, error)
}
