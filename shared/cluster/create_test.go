package cluster

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	astypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/stagehand/stagehand/shared/artifact"
	"github.com/stagehand/stagehand/shared/environment"
	"github.com/stagehand/stagehand/shared/step"
	"github.com/stagehand/stagehand/shared/tags"
)

// The messages EC2 and Auto Scaling answer while IAM has not yet propagated
// a new instance profile to them.
var (
	ec2ProfileNotYet = &smithy.GenericAPIError{Code: "InvalidParameterValue",
		Message: "Value (arn:aws:iam::123456789012:instance-profile/st-ecs-instance) for parameter iamInstanceProfile.arn is invalid. Invalid IAM Instance Profile ARN"}
	asgProfileNotYet = &smithy.GenericAPIError{Code: "ValidationError",
		Message: "You must use a valid fully-formed launch template. Value (st-ecs-instance) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name"}
	asgOtherValidation = &smithy.GenericAPIError{Code: "ValidationError", Message: "Max bound, 1, must be greater than or equal to min bound, 2"}
)

func TestIAMPropagating(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{ec2ProfileNotYet, true},
		{asgProfileNotYet, true},
		{&smithy.GenericAPIError{Code: "ValidationError", Message: "Invalid IamInstanceProfile: arn:aws:iam::1:instance-profile/x"}, true},
		{asgOtherValidation, false},
		{&smithy.GenericAPIError{Code: "AccessDenied", Message: "not allowed to pass iamInstanceProfile"}, false},
		{errors.New("iamInstanceProfile is invalid"), false},
		{nil, false},
	}
	for _, tt := range tests {
		if got := IAMPropagating(tt.err); got != tt.want {
			t.Errorf("IAMPropagating(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

// fakeEC2 answers CreateLaunchTemplate with the queued errors first.
type fakeEC2 struct {
	EC2API
	createErrs []error
	creates    int
}

func (f *fakeEC2) CreateLaunchTemplate(_ context.Context, in *ec2.CreateLaunchTemplateInput, _ ...func(*ec2.Options)) (*ec2.CreateLaunchTemplateOutput, error) {
	f.creates++
	if len(f.createErrs) > 0 {
		err := f.createErrs[0]
		f.createErrs = f.createErrs[1:]
		return nil, err
	}
	return &ec2.CreateLaunchTemplateOutput{LaunchTemplate: &ec2types.LaunchTemplate{LaunchTemplateId: aws.String("lt-1"), LaunchTemplateName: in.LaunchTemplateName}}, nil
}

// fakeASG answers CreateAutoScalingGroup with the queued errors first.
type fakeASG struct {
	AutoScalingAPI
	createErrs []error
	creates    int
	created    *autoscaling.CreateAutoScalingGroupInput
}

func (f *fakeASG) CreateAutoScalingGroup(_ context.Context, in *autoscaling.CreateAutoScalingGroupInput, _ ...func(*autoscaling.Options)) (*autoscaling.CreateAutoScalingGroupOutput, error) {
	f.creates++
	if len(f.createErrs) > 0 {
		err := f.createErrs[0]
		f.createErrs = f.createErrs[1:]
		return nil, err
	}
	f.created = in
	return &autoscaling.CreateAutoScalingGroupOutput{}, nil
}

func (f *fakeASG) DescribeAutoScalingGroups(_ context.Context, in *autoscaling.DescribeAutoScalingGroupsInput, _ ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingGroupsOutput, error) {
	if f.created == nil {
		return &autoscaling.DescribeAutoScalingGroupsOutput{}, nil
	}
	return &autoscaling.DescribeAutoScalingGroupsOutput{AutoScalingGroups: []astypes.AutoScalingGroup{{
		AutoScalingGroupName: f.created.AutoScalingGroupName, AutoScalingGroupARN: aws.String("arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:1:autoScalingGroupName/" + aws.ToString(f.created.AutoScalingGroupName)),
	}}}, nil
}

func testBuilder(t *testing.T, c Clients) *Builder {
	env, err := environment.Parse([]byte(`{"account_id":"123456789012","region":"us-east-1","network":{"cidr":"10.0.0.0/16"}}`))
	if err != nil {
		t.Fatal(err)
	}
	env.Name = "st"
	return &Builder{
		Clients: c, Env: env, Account: "123456789012", Partition: "aws",
		VPC:  &artifact.VPC{VPCID: "vpc-1", PrivateSubnetIDs: []string{"subnet-a", "subnet-b"}, BaseSecurityGroupID: "sg-1"},
		Tags: tags.Set{Env: "st", Step: "bootstrap-ecs", Run: "r1"}, Log: quietLog(), Summary: &step.Summary{},
		IAMBudget: time.Second, RetryInterval: time.Millisecond,
	}
}

// A fresh instance profile is refused for a while: the launch template and
// the auto scaling group are created once IAM has propagated it, within the
// budget; any other refusal fails at once, and an endless one fails when
// the budget is spent.
func TestIAMPropagationIsRetriedWithinBudget(t *testing.T) {
	tests := []struct {
		name        string
		ltErrs      []error
		asgErrs     []error
		budget      time.Duration
		wantErr     string
		wantLTCalls int
		wantASGCall int
	}{
		{name: "propagates after a few refusals", ltErrs: []error{ec2ProfileNotYet, ec2ProfileNotYet}, asgErrs: []error{asgProfileNotYet, asgProfileNotYet, asgProfileNotYet},
			budget: time.Second, wantLTCalls: 3, wantASGCall: 4},
		{name: "another validation error fails at once", asgErrs: []error{asgOtherValidation},
			budget: time.Second, wantErr: "Max bound", wantLTCalls: 1, wantASGCall: 1},
		{name: "never propagates: gives up after the budget", ltErrs: repeat(ec2ProfileNotYet, 1000),
			budget: 20 * time.Millisecond, wantErr: "gave up after"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &fakeEC2{createErrs: tt.ltErrs}
			a := &fakeASG{createErrs: tt.asgErrs}
			b := testBuilder(t, Clients{EC2: e, AutoScaling: a})
			b.IAMBudget = tt.budget
			ctx := context.Background()
			data := b.templateData("st", "arn:aws:iam::123456789012:instance-profile/st-ecs-instance", "ami-1")
			id, err := b.launchTemplate(ctx, nil, "st-ecs", data)
			if err == nil {
				_, err = b.group(ctx, nil, "st-ecs", id)
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
			if tt.wantLTCalls > 0 && e.creates != tt.wantLTCalls {
				t.Errorf("CreateLaunchTemplate called %d times, want %d", e.creates, tt.wantLTCalls)
			}
			if tt.wantASGCall > 0 && a.creates != tt.wantASGCall {
				t.Errorf("CreateAutoScalingGroup called %d times, want %d", a.creates, tt.wantASGCall)
			}
			if tt.wantErr == "" {
				g := a.created
				if aws.ToString(g.VPCZoneIdentifier) != "subnet-a,subnet-b" || aws.ToString(g.LaunchTemplate.LaunchTemplateId) != "lt-1" ||
					aws.ToString(g.LaunchTemplate.Version) != "$Default" || !aws.ToBool(g.NewInstancesProtectedFromScaleIn) {
					t.Errorf("group created with %+v", g)
				}
				if b.Summary.Count(step.Created) != 2 {
					t.Errorf("summary %+v, want 2 created", b.Summary.Items())
				}
			}
		})
	}
}

func repeat(err error, n int) []error {
	out := make([]error, n)
	for i := range out {
		out[i] = err
	}
	return out
}

func TestTemplateChanges(t *testing.T) {
	b := testBuilder(t, Clients{})
	want := b.templateData("st", "arn:profile", "ami-2")
	same := &ec2types.ResponseLaunchTemplateData{
		ImageId: aws.String("ami-2"), InstanceType: "t3.medium",
		IamInstanceProfile: &ec2types.LaunchTemplateIamInstanceProfileSpecification{Arn: aws.String("arn:profile")},
		SecurityGroupIds:   []string{"sg-1"}, UserData: want.UserData,
		MetadataOptions: &ec2types.LaunchTemplateInstanceMetadataOptions{HttpTokens: ec2types.LaunchTemplateHttpTokensStateRequired, HttpPutResponseHopLimit: aws.Int32(1)},
	}
	if c := templateChanges(same, want); len(c) != 0 {
		t.Fatalf("identical data reported as changed: %v", c)
	}
	older := *same
	older.ImageId = aws.String("ami-1")
	older.MetadataOptions = &ec2types.LaunchTemplateInstanceMetadataOptions{HttpTokens: ec2types.LaunchTemplateHttpTokensStateOptional}
	c := templateChanges(&older, want)
	if len(c) != 2 || !strings.Contains(c[0], "ami-1 -> ami-2") || c[1] != "metadata options" {
		t.Fatalf("changes %v, want the AMI and the metadata options", c)
	}
}

func TestSamePolicy(t *testing.T) {
	want := secretsPolicy("aws", "eu-west-1", "123456789012")
	// IAM returns documents URL-encoded, reformatted, single-element lists as strings.
	got := "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Sid%22%3A%22ReadEnvironmentSecrets%22%2C%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22secretsmanager%3AGetSecretValue%22%2C%22Resource%22%3A%22arn%3Aaws%3Asecretsmanager%3Aeu-west-1%3A123456789012%3Asecret%3A%2A%22%7D%2C%7B%22Sid%22%3A%22ReadEnvironmentParameters%22%2C%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22ssm%3AGetParameters%22%2C%22Resource%22%3A%22arn%3Aaws%3Assm%3Aeu-west-1%3A123456789012%3Aparameter%2F%2A%22%7D%5D%7D"
	if !samePolicy(got, want) {
		t.Fatal("the same policy, encoded the way IAM returns it, compares as different")
	}
	if samePolicy(strings.Replace(got, "eu-west-1", "us-east-1", 1), want) {
		t.Fatal("a policy for another region compares as the same")
	}
}

func TestCheckProviderName(t *testing.T) {
	for name, ok := range map[string]bool{"staging-ec2": true, "ecsdemo-ec2": false, "aws-ec2": false, "fargatetest-ec2": false, "dev-ec2": true} {
		if err := CheckProviderName(name); (err == nil) != ok {
			t.Errorf("CheckProviderName(%q) = %v", name, err)
		}
	}
}
