package workload

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logstypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/stagehand/stagehand/shared/step"
	"github.com/stagehand/stagehand/shared/tags"
)

// fakeRules is one listener's rules.
type fakeRules struct {
	ELBAPI
	mu      sync.Mutex
	rules   []elbtypes.Rule
	created []int32
}

func (f *fakeRules) DescribeRules(_ context.Context, in *elb.DescribeRulesInput, _ ...func(*elb.Options)) (*elb.DescribeRulesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return &elb.DescribeRulesOutput{Rules: append([]elbtypes.Rule{{IsDefault: aws.Bool(true), Priority: aws.String("default")}}, f.rules...)}, nil
}

func (f *fakeRules) CreateRule(_ context.Context, in *elb.CreateRuleInput, _ ...func(*elb.Options)) (*elb.CreateRuleOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.rules {
		if aws.ToString(r.Priority) == fmt.Sprint(aws.ToInt32(in.Priority)) {
			return nil, apiErr("PriorityInUse")
		}
	}
	r := elbtypes.Rule{RuleArn: aws.String(fmt.Sprintf("rule-%d", aws.ToInt32(in.Priority))), Priority: aws.String(fmt.Sprint(aws.ToInt32(in.Priority))),
		Conditions: in.Conditions, Actions: in.Actions}
	f.rules = append(f.rules, r)
	f.created = append(f.created, aws.ToInt32(in.Priority))
	return &elb.CreateRuleOutput{Rules: []elbtypes.Rule{r}}, nil
}

func (f *fakeRules) ModifyRule(_ context.Context, in *elb.ModifyRuleInput, _ ...func(*elb.Options)) (*elb.ModifyRuleOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.rules {
		if aws.ToString(f.rules[i].RuleArn) == aws.ToString(in.RuleArn) {
			f.rules[i].Conditions = in.Conditions
		}
	}
	return &elb.ModifyRuleOutput{}, nil
}

func rule(prio int, tg string, paths ...string) elbtypes.Rule {
	return elbtypes.Rule{RuleArn: aws.String(fmt.Sprintf("rule-%d", prio)), Priority: aws.String(fmt.Sprint(prio)),
		Conditions: []elbtypes.RuleCondition{{Field: aws.String("path-pattern"), Values: paths}},
		Actions:    []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(tg)}}}
}

func TestEnsureListenerRules(t *testing.T) {
	f := &fakeRules{rules: []elbtypes.Rule{rule(1, "tg-web", "/web", "/web/*"), rule(3, "tg-old", "/old"), rule(2, "tg-api", "/wrong")}}
	sum := &step.Summary{}
	b := &Builder{ELB: f, Env: "env", Log: quietLog(), Summary: sum}
	specs := []RuleSpec{
		{TargetGroupARN: "tg-web", PathPatterns: PathPatterns("web")},
		{TargetGroupARN: "tg-a", PathPatterns: PathPatterns("a")},
		{TargetGroupARN: "tg-api", PathPatterns: PathPatterns("api")},
		{TargetGroupARN: "tg-b", PathPatterns: PathPatterns("b")},
	}
	arns, err := b.EnsureListenerRules(context.Background(), "listener", specs)
	if err != nil {
		t.Fatal(err)
	}
	// Existing rules are found by their target group; new ones take the free priorities 4 and 5.
	sort.Slice(f.created, func(i, j int) bool { return f.created[i] < f.created[j] })
	if fmt.Sprint(f.created) != "[4 5]" || arns[0] != "rule-1" || arns[2] != "rule-2" {
		t.Fatalf("created priorities %v, arns %v", f.created, arns)
	}
	if conditionKey(f.rules[2].Conditions) != conditionKey(specs[2].conditions()) {
		t.Errorf("api's rule conditions not corrected: %+v", f.rules[2].Conditions)
	}
	if sum.Count(step.Kept) != 1 || sum.Count(step.Updated) != 1 || sum.Count(step.Created) != 2 {
		t.Errorf("summary %+v", sum.Items())
	}
	// Again: nothing to do.
	f.created = nil
	if _, err := b.EnsureListenerRules(context.Background(), "listener", specs); err != nil || len(f.created) != 0 {
		t.Fatalf("second run created %v (%v)", f.created, err)
	}
}

func TestTargetGroupName(t *testing.T) {
	tests := []struct{ env, svc, want string }{
		{"staging", "web", "staging-web"},
		{"abcdefghijklmnopqrst", "abcdefghijk", "abcdefghijklmnopqrst-abcdefghijk"},
	}
	for _, tt := range tests {
		if got := TargetGroupName(tt.env, tt.svc); got != tt.want {
			t.Errorf("TargetGroupName(%s, %s) = %s, want %s", tt.env, tt.svc, got, tt.want)
		}
	}
	a := TargetGroupName("abcdefghijklmnopqrst", "a-very-long-service-name-1")
	b := TargetGroupName("abcdefghijklmnopqrst", "a-very-long-service-name-2")
	if len(a) > 32 || len(b) > 32 || a == b || strings.HasSuffix(a, "-") || strings.Contains(a, "--") {
		t.Errorf("long names: %q %q", a, b)
	}
}

// fakeGroups is one security group's rules.
type fakeGroups struct {
	EC2API
	group   ec2types.SecurityGroup
	added   []ec2types.IpPermission
	revoked []ec2types.IpPermission
}

func (f *fakeGroups) DescribeSecurityGroups(_ context.Context, in *ec2.DescribeSecurityGroupsInput, _ ...func(*ec2.Options)) (*ec2.DescribeSecurityGroupsOutput, error) {
	return &ec2.DescribeSecurityGroupsOutput{SecurityGroups: []ec2types.SecurityGroup{f.group}}, nil
}

func (f *fakeGroups) AuthorizeSecurityGroupIngress(_ context.Context, in *ec2.AuthorizeSecurityGroupIngressInput, _ ...func(*ec2.Options)) (*ec2.AuthorizeSecurityGroupIngressOutput, error) {
	f.added = append(f.added, in.IpPermissions...)
	return &ec2.AuthorizeSecurityGroupIngressOutput{}, nil
}

func (f *fakeGroups) RevokeSecurityGroupIngress(_ context.Context, in *ec2.RevokeSecurityGroupIngressInput, _ ...func(*ec2.Options)) (*ec2.RevokeSecurityGroupIngressOutput, error) {
	f.revoked = append(f.revoked, in.IpPermissions...)
	return &ec2.RevokeSecurityGroupIngressOutput{}, nil
}

func TestEnsureSecurityGroupIngress(t *testing.T) {
	perm := func(proto string, from, to int32, src string) ec2types.IpPermission {
		p := ec2types.IpPermission{IpProtocol: aws.String(proto), FromPort: aws.Int32(from), ToPort: aws.Int32(to)}
		if strings.HasPrefix(src, "sg-") {
			p.UserIdGroupPairs = []ec2types.UserIdGroupPair{{GroupId: aws.String(src)}}
		} else {
			p.IpRanges = []ec2types.IpRange{{CidrIp: aws.String(src)}}
		}
		return p
	}
	f := &fakeGroups{group: ec2types.SecurityGroup{
		GroupId: aws.String("sg-svc"), GroupName: aws.String("env-services"), VpcId: aws.String("vpc-1"),
		Tags:          tags.EC2(map[string]string{tags.Env: "env"}),
		IpPermissions: []ec2types.IpPermission{perm("tcp", 80, 80, "sg-lb"), perm("tcp", 9000, 9000, "sg-lb"), perm("udp", 53, 53, "10.0.0.0/8")},
	}}
	sum := &step.Summary{}
	b := &Builder{EC2: f, Env: "env", Log: quietLog(), Summary: sum}
	id, err := b.EnsureSecurityGroup(context.Background(), "vpc-1", "env-services", "d",
		[]IngressRule{{SourceGroup: "sg-lb", FromPort: 80}, {SourceGroup: "sg-lb", FromPort: 8080}}, nil)
	if err != nil || id != "sg-svc" {
		t.Fatal(id, err)
	}
	if len(f.added) != 1 || aws.ToInt32(f.added[0].FromPort) != 8080 || aws.ToString(f.added[0].UserIdGroupPairs[0].GroupId) != "sg-lb" {
		t.Errorf("added %+v, want 8080 from sg-lb", f.added)
	}
	var revoked []string
	for _, p := range f.revoked {
		revoked = append(revoked, fmt.Sprintf("%s/%d", aws.ToString(p.IpProtocol), aws.ToInt32(p.FromPort)))
	}
	sort.Strings(revoked)
	if strings.Join(revoked, ",") != "tcp/9000,udp/53" {
		t.Errorf("revoked %v, want tcp/9000 and udp/53 as they were", revoked)
	}
	if sum.Count(step.Updated) != 1 {
		t.Errorf("summary %+v", sum.Items())
	}

	// A group of that name that is not the environment's is refused, untouched.
	f.group.Tags = nil
	f.added, f.revoked = nil, nil
	if _, err := b.EnsureSecurityGroup(context.Background(), "vpc-1", "env-services", "d", nil, nil); err == nil || len(f.revoked) != 0 {
		t.Fatalf("untagged group: %v, revoked %v", err, f.revoked)
	}
}

// fakeLogs is a handful of log groups.
type fakeLogs struct {
	LogsAPI
	groups    map[string]*logstypes.LogGroup
	tags      map[string]map[string]string
	retention []int32
}

func (f *fakeLogs) DescribeLogGroups(_ context.Context, in *cloudwatchlogs.DescribeLogGroupsInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.DescribeLogGroupsOutput, error) {
	out := &cloudwatchlogs.DescribeLogGroupsOutput{}
	for name, g := range f.groups {
		if strings.HasPrefix(name, aws.ToString(in.LogGroupNamePrefix)) {
			out.LogGroups = append(out.LogGroups, *g)
		}
	}
	return out, nil
}

func (f *fakeLogs) CreateLogGroup(_ context.Context, in *cloudwatchlogs.CreateLogGroupInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.CreateLogGroupOutput, error) {
	name := aws.ToString(in.LogGroupName)
	f.groups[name] = &logstypes.LogGroup{LogGroupName: &name, LogGroupArn: aws.String("arn:" + name)}
	f.tags["arn:"+name] = in.Tags
	return &cloudwatchlogs.CreateLogGroupOutput{}, nil
}

func (f *fakeLogs) PutRetentionPolicy(_ context.Context, in *cloudwatchlogs.PutRetentionPolicyInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.PutRetentionPolicyOutput, error) {
	f.groups[aws.ToString(in.LogGroupName)].RetentionInDays = in.RetentionInDays
	f.retention = append(f.retention, aws.ToInt32(in.RetentionInDays))
	return &cloudwatchlogs.PutRetentionPolicyOutput{}, nil
}

func (f *fakeLogs) ListTagsForResource(_ context.Context, in *cloudwatchlogs.ListTagsForResourceInput, _ ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.ListTagsForResourceOutput, error) {
	return &cloudwatchlogs.ListTagsForResourceOutput{Tags: f.tags[aws.ToString(in.ResourceArn)]}, nil
}

func TestEnsureLogGroup(t *testing.T) {
	ctx := context.Background()
	f := &fakeLogs{groups: map[string]*logstypes.LogGroup{}, tags: map[string]map[string]string{}}
	b := &Builder{Logs: f, Env: "env", Log: quietLog()}
	tm := tags.Set{Env: "env", Step: "run-containers", Run: "r"}.Map("/stagehand/env/api")
	if created, err := b.EnsureLogGroup(ctx, "/stagehand/env/api", 14, tm); err != nil || !created {
		t.Fatalf("create: %v %v", created, err)
	}
	// "/stagehand/env/api-worker" shares the prefix: the exact name is found.
	if created, err := b.EnsureLogGroup(ctx, "/stagehand/env/api-worker", 14, tm); err != nil || !created {
		t.Fatalf("create second: %v %v", created, err)
	}
	if created, err := b.EnsureLogGroup(ctx, "/stagehand/env/api", 14, tm); err != nil || created || len(f.retention) != 2 {
		t.Fatalf("again: %v %v, retention calls %v", created, err, f.retention)
	}
	if _, err := b.EnsureLogGroup(ctx, "/stagehand/env/api", 30, tm); err != nil || f.retention[len(f.retention)-1] != 30 {
		t.Fatalf("retention change: %v %v", err, f.retention)
	}
	f.tags["arn:/stagehand/env/api"] = map[string]string{tags.Env: "prod"}
	if _, err := b.EnsureLogGroup(ctx, "/stagehand/env/api", 30, tm); err == nil || !strings.Contains(err.Error(), "prod") {
		t.Fatalf("foreign log group: %v", err)
	}
}
