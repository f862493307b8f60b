package workload

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/stagehand/stagehand/shared/step"
	"github.com/stagehand/stagehand/shared/tags"
)

// wantedTaskDef is a task definition as Deployment asks for one.
func wantedTaskDef(env string) *ecs.RegisterTaskDefinitionInput {
	return &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(env + "-api"), NetworkMode: ecstypes.NetworkModeAwsvpc,
		RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityFargate},
		Cpu:                     aws.String("256"), Memory: aws.String("512"),
		ExecutionRoleArn: aws.String("arn:aws:iam::123456789012:role/exec"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{
			Name: aws.String("api"), Image: aws.String("httpd:2.4"), Essential: aws.Bool(true),
			PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(8080), Protocol: ecstypes.TransportProtocolTcp}},
			Environment:  []ecstypes.KeyValuePair{{Name: aws.String("A"), Value: aws.String("1")}, {Name: aws.String("B"), Value: aws.String("2")}},
			Secrets:      []ecstypes.Secret{{Name: aws.String("S"), ValueFrom: aws.String("arn:aws:ssm:us-east-1:123456789012:parameter/s")}},
			LogConfiguration: &ecstypes.LogConfiguration{LogDriver: ecstypes.LogDriverAwslogs,
				Options: map[string]string{"awslogs-group": "/stagehand/env/api", "awslogs-region": "us-east-1"}},
		}},
		Tags: tags.ECS(tags.Set{Env: env, Step: "run-containers", Run: "r1"}.Map(env + "-api")),
	}
}

func TestSameTaskDefinition(t *testing.T) {
	tests := []struct {
		name   string
		change func(in *ecs.RegisterTaskDefinitionInput)
		same   bool
	}{
		{"unchanged (ECS filled in hostPort, mount points, ...)", func(*ecs.RegisterTaskDefinitionInput) {}, true},
		{"other tags (another run)", func(in *ecs.RegisterTaskDefinitionInput) {
			in.Tags = tags.ECS(tags.Set{Env: "env", Step: "run-containers", Run: "r2"}.Map("x"))
		}, true},
		{"environment in another order", func(in *ecs.RegisterTaskDefinitionInput) {
			e := in.ContainerDefinitions[0].Environment
			e[0], e[1] = e[1], e[0]
		}, true},
		{"new image", func(in *ecs.RegisterTaskDefinitionInput) { in.ContainerDefinitions[0].Image = aws.String("httpd:2.5") }, false},
		{"new memory", func(in *ecs.RegisterTaskDefinitionInput) { in.Memory = aws.String("1024") }, false},
		{"variable removed", func(in *ecs.RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].Environment = in.ContainerDefinitions[0].Environment[:1]
		}, false},
		{"variable changed", func(in *ecs.RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].Environment[1].Value = aws.String("3")
		}, false},
		{"all secrets removed", func(in *ecs.RegisterTaskDefinitionInput) { in.ContainerDefinitions[0].Secrets = nil }, false},
		{"port removed", func(in *ecs.RegisterTaskDefinitionInput) { in.ContainerDefinitions[0].PortMappings = nil }, false},
		{"log option changed", func(in *ecs.RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].LogConfiguration.Options = map[string]string{"awslogs-group": "/other", "awslogs-region": "us-east-1"}
		}, false},
		{"EC2 instead of Fargate", func(in *ecs.RegisterTaskDefinitionInput) {
			in.RequiresCompatibilities = []ecstypes.Compatibility{ecstypes.CompatibilityEc2}
		}, false},
		{"other execution role", func(in *ecs.RegisterTaskDefinitionInput) {
			in.ExecutionRoleArn = aws.String("arn:aws:iam::123456789012:role/x")
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeECS()
			registered := f.register(wantedTaskDef("env"))
			want := wantedTaskDef("env")
			tt.change(want)
			if got := SameTaskDefinition(want, registered); got != tt.same {
				t.Fatalf("SameTaskDefinition = %v, want %v", got, tt.same)
			}
		})
	}
}

func TestEnsureTaskDefinition(t *testing.T) {
	ctx := context.Background()
	f := newFakeECS()
	b, sum := newBuilder(f, false)

	arn, changed, err := b.EnsureTaskDefinition(ctx, wantedTaskDef("env"))
	if err != nil || !changed || !strings.HasSuffix(arn, "/env-api:1") {
		t.Fatalf("first: %s %v %v", arn, changed, err)
	}
	again, changed, err := b.EnsureTaskDefinition(ctx, wantedTaskDef("env"))
	if err != nil || changed || again != arn || f.count("RegisterTaskDefinition") != 1 {
		t.Fatalf("unchanged: %s %v %v, %d registrations", again, changed, err, f.count("RegisterTaskDefinition"))
	}
	in := wantedTaskDef("env")
	in.ContainerDefinitions[0].Image = aws.String("httpd:2.5")

	// A dry run registers nothing.
	dry, _ := newBuilder(f, true)
	if got, changed, err := dry.EnsureTaskDefinition(ctx, in); err != nil || !changed || got != Planned || f.count("RegisterTaskDefinition") != 1 {
		t.Fatalf("dry run: %s %v %v", got, changed, err)
	}

	rev2, changed, err := b.EnsureTaskDefinition(ctx, in)
	if err != nil || !changed || !strings.HasSuffix(rev2, "/env-api:2") {
		t.Fatalf("new image: %s %v %v", rev2, changed, err)
	}
	if sum.Count(step.Created) != 1 || sum.Count(step.Kept) != 1 || sum.Count(step.Updated) != 1 {
		t.Errorf("summary %+v", sum.Items())
	}

	// The latest revision carries another environment's tag: not ours to reuse.
	g := newFakeECS()
	g.register(wantedTaskDef("other"))
	for arn := range g.taskDefs {
		g.taskDefs[arn].Family = aws.String("env-api")
	}
	b2, _ := newBuilder(g, false)
	if _, changed, err := b2.EnsureTaskDefinition(ctx, wantedTaskDef("env")); err != nil || !changed {
		t.Fatalf("foreign revision reused: %v %v", changed, err)
	}
}

func TestFamilyRevision(t *testing.T) {
	f, r := familyRevision("arn:aws:ecs:us-east-1:123456789012:task-definition/env-api-v2:17")
	if f != "env-api-v2" || r != 17 {
		t.Fatalf("got %s %d", f, r)
	}
}
