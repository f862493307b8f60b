package main

import (
	"context"
	"io"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/stagehand/stagehand/shared/artifact"
	"github.com/stagehand/stagehand/shared/exitcode"
	"github.com/stagehand/stagehand/shared/step"
	"github.com/stagehand/stagehand/shared/wait"
	"github.com/stagehand/stagehand/shared/workload"
)

var definition = step.Definition{
	Name:  "run-containers",
	Usage: "run the environment's services (its manifest) on its cluster and write containers.json",
	Description: `Reads ARTIFACTS_DIR/vpc.json and ecs.json (run create-vpc and bootstrap-ecs
   first) and runs each service of the environment file's "services" (the
   manifest) on the cluster, creating or finding, by names checked against
   the stagehand:env tag:
   - the log group /stagehand/ENV/SERVICE (log_retention_days, default 14);
   - the task definition family ENV-SERVICE: awsvpc, task size cpu/memory,
     the execution role of ecs.json, the awslogs driver, the environment
     variables, the secrets by reference (ARNs, never values), the port;
     EC2 or FARGATE as ecs.capacity says. A new revision is registered only
     when the wanted definition differs from the latest one;
   - for public services (only when there are any): one internet-facing
     load balancer ENV-public in the public subnets with its own security
     group ENV-public-lb (80 from anywhere; with public_certificate_arn
     also 443, an HTTPS listener that forwards, and 80 redirecting to it),
     a security group ENV-services that admits the load balancer, and only
     it, on the public services' ports; per public service a target group
     (IP targets, health_check_path, default /) and a listener rule that
     forwards /SERVICE and /SERVICE/* to it (the path is passed unchanged);
   - the ECS service SERVICE in the cluster: desired_count (default 1), the
     private subnets and base security group of ecs.json, the cluster's
     capacity provider strategy (or Fargate), the deployment circuit breaker
     with rollback, the target group of a public service.
   Services are created side by side (--concurrency) and waited for together
   until stable (--stable-wait); one that cannot become stable fails the step
   with its latest ECS events. Then it writes ARTIFACTS_DIR/containers.json:
   service and task definition ARNs, log groups, target groups, the load
   balancer's DNS name and each public service's URL.

   A second run changes only what differs (a new image registers a new
   revision and updates the service; a new desired_count updates it) and
   creates nothing new. Services removed from the manifest are not deleted
   by this step: destroy-containers removes everything it created.`,
	Kind:           step.Create,
	DefaultTimeout: 30 * time.Minute,
	Flags: []cli.Flag{
		&cli.IntFlag{Name: "concurrency", Value: 10, EnvVars: []string{"STAGEHAND_CONCURRENCY"},
			Usage: "how many services are worked on side by side"},
		&cli.DurationFlag{Name: "stable-wait", Value: 15 * time.Minute, EnvVars: []string{"STAGEHAND_STABLE_WAIT"},
			Usage: "how long to wait for the services to become stable (exit 4 past it)"},
	},
	Run: run,
}

func newApp(stdout, stderr io.Writer) *cli.App { return step.NewApp(definition, stdout, stderr) }

func run(ctx context.Context, r *step.Run) error {
	var vpc artifact.VPC
	if err := r.ReadInput(&vpc, artifact.KindVPC, "create-vpc"); err != nil {
		return err
	}
	var cl artifact.ECS
	if err := r.ReadInput(&cl, artifact.KindECS, "bootstrap-ecs"); err != nil {
		return err
	}
	if cl.VPCID != vpc.VPCID {
		return exitcode.Usagef("%s is for VPC %s but %s describes VPC %s: run bootstrap-ecs again",
			artifact.Path(r.ArtifactsDir, artifact.KindECS), cl.VPCID, artifact.Path(r.ArtifactsDir, artifact.KindVPC), vpc.VPCID)
	}
	if r.CLI.Int("concurrency") < 1 {
		return exitcode.Usagef("--concurrency %d: must be at least 1", r.CLI.Int("concurrency"))
	}
	d := &workload.Deployment{
		B:   workload.NewBuilder(r.AWS, r.Env.Name, r.Log, r.Summary, r.DryRun),
		Env: r.Env, Tags: r.Tags, VPC: &vpc, ECS: &cl,
		Concurrency: r.CLI.Int("concurrency"),
		Wait:        wait.Options{Max: r.CLI.Duration("stable-wait")},
	}
	out, err := d.Run(ctx)
	if err != nil || r.DryRun {
		return err
	}
	return r.SaveArtifact(out, artifact.KindContainers)
}
