package main

import (
	"context"
	"io"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/stagehand/stagehand/shared/artifact"
	"github.com/stagehand/stagehand/shared/cluster"
	"github.com/stagehand/stagehand/shared/step"
	"github.com/stagehand/stagehand/shared/wait"
)

var definition = step.Definition{
	Name:  cluster.CreateStep,
	Usage: "create the environment's ECS cluster and its capacity, and write ecs.json",
	Description: `Reads ARTIFACTS_DIR/vpc.json (run create-vpc first) and creates (or finds)
   the environment's ECS cluster, named NAME, and its capacity per
   ecs.capacity:

   "ec2" (the default):
   - IAM role NAME-ecs-instance (trusts EC2; AWS managed policy
     AmazonEC2ContainerServiceforEC2Role) and instance profile NAME-ecs-instance;
   - launch template NAME-ecs: the ECS-optimized Amazon Linux 2023 AMI read
     from the SSM parameter ecs.ami_ssm_parameter (default the public
     /aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id)
     unless ecs.ami_id is set, ecs.instance_type (default t3.medium), IMDSv2
     required, the base security group of vpc.json, the instance profile, and
     ECS_CLUSTER=NAME in /etc/ecs/ecs.config; a changed AMI or setting becomes
     a new default version of the template (running instances are kept);
   - auto scaling group NAME-ecs in the private subnets, launching the
     template's default version, ecs.min_size / ecs.desired_capacity /
     ecs.max_size (defaults 1 / 1 / 2), tags propagated to the instances, new
     instances protected from scale-in;
   - capacity provider NAME-ec2 with managed scaling (target 100%) and
     managed termination protection, the cluster's default strategy.
   IAM takes a while before EC2 and Auto Scaling accept a new instance
   profile; that refusal is retried for --iam-wait. With desired_capacity
   above 0 it then waits (--instances-wait) until that many container
   instances are registered and ACTIVE; with 0 there is nothing to wait for
   (the capacity provider launches instances when tasks need them).

   "fargate": the cluster with the FARGATE and FARGATE_SPOT capacity providers;
   FARGATE is the default strategy (FARGATE_SPOT is there for services that
   ask for it).

   Both: the task execution role NAME-ecs-task-execution (trusts ECS tasks;
   AWS managed policy AmazonECSTaskExecutionRolePolicy to pull images and
   write logs; inline policy stagehand-read-secrets to read the Secrets
   Manager secrets and SSM parameters of the environment's account and
   region), and container insights on or off per ecs.container_insights.

   Then it writes ARTIFACTS_DIR/ecs.json: cluster name and ARN, capacity
   providers and default strategy, execution role, the private subnets and the
   base security group to place tasks in, and the ids of the EC2 capacity.

   Everything is tagged stagehand:env, stagehand:step, stagehand:run and Name,
   found again by its name and checked for the environment's tag: a second
   run creates nothing, a run killed half-way completes without duplicates,
   and a same-named resource without the tag is refused (exit 3) before
   anything changes.`,
	Kind:           step.Create,
	DefaultTimeout: 30 * time.Minute,
	Flags: []cli.Flag{
		&cli.DurationFlag{Name: "iam-wait", Value: cluster.DefaultIAMBudget, EnvVars: []string{"STAGEHAND_IAM_WAIT"},
			Usage: "how long to retry while EC2 and Auto Scaling do not yet accept a new instance profile"},
		&cli.DurationFlag{Name: "instances-wait", Value: cluster.DefaultInstancesWait, EnvVars: []string{"STAGEHAND_INSTANCES_WAIT"},
			Usage: "how long to wait for the container instances to register (exit 4 past it)"},
	},
	Run: run,
}

func newApp(stdout, stderr io.Writer) *cli.App { return step.NewApp(definition, stdout, stderr) }

func run(ctx context.Context, r *step.Run) error {
	var vpc artifact.VPC
	if err := r.ReadInput(&vpc, artifact.KindVPC, "create-vpc"); err != nil {
		return err
	}
	b := &cluster.Builder{
		Clients: cluster.NewClients(r.AWS), Env: r.Env, VPC: &vpc,
		Account: r.Identity.Account, Partition: cluster.Partition(r.Identity.ARN),
		Tags: r.Tags, Log: r.Log, Summary: r.Summary, DryRun: r.DryRun,
		IAMBudget:     r.CLI.Duration("iam-wait"),
		InstancesWait: wait.Options{Max: r.CLI.Duration("instances-wait")},
	}
	out, err := b.Ensure(ctx)
	if err != nil || r.DryRun {
		return err
	}
	return r.SaveArtifact(out, artifact.KindECS)
}
