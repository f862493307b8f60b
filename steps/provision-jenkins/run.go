package main

import (
	"context"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/efs"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/urfave/cli/v2"

	"github.com/stagehand/stagehand/shared/artifact"
	"github.com/stagehand/stagehand/shared/jenkinsenv"
	"github.com/stagehand/stagehand/shared/step"
	"github.com/stagehand/stagehand/shared/workload"
)

var definition = step.Definition{
	Name:  "provision-jenkins",
	Usage: "run the environment's Jenkins on its cluster, configure its jobs, write jenkins.json",
	Description: `Reads ARTIFACTS_DIR/vpc.json and ecs.json (run create-vpc and bootstrap-ecs
   first) and creates (or finds, by tags and names) the environment's Jenkins:
   - the admin password, generated once and kept in Secrets Manager as
     stagehand/ENV/jenkins-admin; it reaches Jenkins only as a secret of the
     task definition (never in artifacts, logs or the task definition);
   - the log group /stagehand/ENV/jenkins (log_retention_days);
   - an internet-facing load balancer ENV-jenkins in the public subnets,
     whose security group admits jenkins.allowed_cidrs on 80 (and 443 with
     jenkins.certificate_arn); a target group (IP targets, port 8080, health
     check /login answering 200); an HTTP listener on 80 forwarding to it,
     or with the certificate an HTTPS listener on 443 forwarding and 80
     redirecting to it;
   - the task security group, open to the load balancer on 8080 only;
   - with jenkins.persistent_home: an encrypted EFS file system, mount
     targets in the private subnets (security group open to the tasks on
     2049) and an access point (uid/gid 1000, /jenkins_home) mounted on
     /var/jenkins_home;
   - the task definition ENV-jenkins for jenkins.image (default
     jenkins/jenkins:lts-jdk17), jenkins.cpu/memory (default 1024/2048):
     the container installs jenkins.plugins at start, skips the setup
     wizard and creates the admin user jenkins.admin_user (default admin)
     with configuration as code;
   - the ECS service "jenkins" (one task, private subnets, the cluster's
     capacity strategy, a grace period of 10 minutes for the health check).
   It waits until the service is stable and writes ARTIFACTS_DIR/jenkins.json
   (URL, service, secret ARN and the ids destroy-jenkins uses). Then, unless
   jenkins.configure is false, it waits until Jenkins answers at jenkins.url
   (or http(s)://LOAD_BALANCER_DNS), logs in as the admin, creates or updates
   each job of jenkins.jobs (pipeline from git: repository, branch,
   script_path, credentials_id, cron) and reads each back; jenkins.json then
   records the job names. With jenkins.configure false (an endpoint that
   runs no containers, say) it says so and leaves Jenkins alone.

   Everything is tagged stagehand:env, stagehand:step, stagehand:run and
   Name: a second run creates nothing and updates what changed (a job, the
   task definition); a run killed half-way and started again completes.`,
	Kind:           step.Create,
	DefaultTimeout: 45 * time.Minute,
	Run:            run,
}

func newApp(stdout, stderr io.Writer) *cli.App { return step.NewApp(definition, stdout, stderr) }

func run(ctx context.Context, r *step.Run) error {
	var vpc artifact.VPC
	if err := r.ReadInput(&vpc, artifact.KindVPC, "create-vpc"); err != nil {
		return err
	}
	var ecs artifact.ECS
	if err := r.ReadInput(&ecs, artifact.KindECS, "bootstrap-ecs"); err != nil {
		return err
	}
	b := &jenkinsenv.Builder{
		Env: r.Env, Tags: r.Tags, Log: r.Log, Summary: r.Summary, DryRun: r.DryRun,
		VPC: &vpc, ECS: &ecs,
		Secrets:  secretsmanager.NewFromConfig(r.AWS),
		EFS:      efs.NewFromConfig(r.AWS),
		Workload: workload.NewBuilder(r.AWS, r.Env.Name, r.Log, r.Summary, r.DryRun),
	}
	out, err := b.Provision(ctx)
	if err != nil {
		return err
	}
	if r.DryRun {
		return b.Configure(ctx, out)
	}
	// Written once Jenkins runs (no jobs configured yet), so that its URL
	// and ids are on record even when configuring it fails; written again
	// with the jobs.
	if err := r.SaveArtifact(out, artifact.KindJenkins); err != nil {
		return err
	}
	if err := b.Configure(ctx, out); err != nil {
		return err
	}
	return r.SaveArtifact(out, artifact.KindJenkins)
}
