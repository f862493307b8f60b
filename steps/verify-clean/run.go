package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/urfave/cli/v2"

	"github.com/stagehand/stagehand/shared/artifact"
	"github.com/stagehand/stagehand/shared/cluster"
	"github.com/stagehand/stagehand/shared/exitcode"
	"github.com/stagehand/stagehand/shared/jenkinsenv"
	"github.com/stagehand/stagehand/shared/network"
	"github.com/stagehand/stagehand/shared/resource"
	"github.com/stagehand/stagehand/shared/step"
	"github.com/stagehand/stagehand/shared/workload"
)

var definition = step.Definition{
	Name:  "verify-clean",
	Usage: "list every resource of the environment that still exists; exit 5 if any",
	Description: `Read-only. Lists every resource of the environment that still exists, of
   every kind a stagehand step creates: VPCs, subnets, internet gateways, NAT
   gateways that are not deleted, Elastic IPs, route tables, security groups
   and the network interfaces inside the environment's VPCs; ECS clusters
   that are not INACTIVE, their services that are not INACTIVE, running tasks
   and container instances, capacity providers, auto scaling groups, launch
   templates, EC2 instances that are not terminated, IAM roles and instance
   profiles (named NAME-... and tagged with the environment); Secrets Manager
   secrets (not scheduled for deletion) and EFS file systems tagged with the
   environment; ACTIVE task definition revisions of the families NAME-...,
   load balancers and target groups tagged with the environment, and log
   groups /stagehand/NAME/... tagged with it.

   Prints a summary and writes ARTIFACTS_DIR/verify-clean.json (the report:
   clean or not, and each resource left with kind, id, name and state).
   Exit 0 when nothing is left, 5 when anything is.`,
	Kind:           step.ReadOnly,
	DefaultTimeout: 10 * time.Minute,
	Run:            run,
}

func newApp(stdout, stderr io.Writer) *cli.App { return step.NewApp(definition, stdout, stderr) }

// KindReport is the report's artifact kind.
const KindReport = "verify-clean"

// Report is verify-clean.json.
type Report struct {
	artifact.Header
	Clean     bool                `json:"clean"`
	Resources []resource.Resource `json:"resources"`
}

// listers is the one place that lists every kind of resource the steps create.
func listers(r *step.Run) []resource.Lister {
	ls := network.Listers(&network.Scope{API: ec2.NewFromConfig(r.AWS), Env: r.Env.Name, Log: r.Log})
	ls = append(ls, cluster.Listers(&cluster.Scope{Clients: cluster.NewClients(r.AWS), Env: r.Env.Name, Log: r.Log})...)
	ls = append(ls, jenkinsenv.Listers(jenkinsenv.NewScope(r.AWS, r.Env.Name, "", r.Log))...)
	ls = append(ls, workload.Listers(workload.NewScope(r.AWS, r.Env.Name, "", r.Log))...)
	return ls
}

func run(ctx context.Context, r *step.Run) error {
	left, err := resource.Inventory(ctx, listers(r))
	if err != nil {
		return err
	}
	for _, res := range left {
		r.Summary.Add(step.Found, res.Kind, res.ID, res.Name)
	}
	rep := &Report{Header: r.Header(KindReport), Clean: len(left) == 0, Resources: left}
	if rep.Resources == nil {
		rep.Resources = []resource.Resource{}
	}
	if err := artifact.Write(r.ArtifactsDir, rep); err != nil {
		return err
	}
	if len(left) > 0 {
		return exitcode.New(exitcode.Leftovers, fmt.Errorf("%d resources of environment %q are left (report: %s)",
			len(left), r.Env.Name, artifact.Path(r.ArtifactsDir, KindReport)))
	}
	r.Log.Info("clean: nothing of the environment is left")
	return nil
}
