package main

import (
	"context"
	"io"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/stagehand/stagehand/shared/artifact"
	"github.com/stagehand/stagehand/shared/jenkinsenv"
	"github.com/stagehand/stagehand/shared/resource"
	"github.com/stagehand/stagehand/shared/step"
	"github.com/stagehand/stagehand/shared/workload"
)

var definition = step.Definition{
	Name:  "destroy-jenkins",
	Usage: "delete the environment's Jenkins, found by tags (and jenkins.json)",
	Description: `Deletes what provision-jenkins created, in dependency order:
   the ECS service "jenkins" (scaled to 0, deleted, waited until INACTIVE)
   -> its task definitions (every ACTIVE revision deregistered) -> the load
   balancer (its listener goes with it; waited until gone) -> the target
   group -> the persistent home: EFS access points, mount targets (waited
   until gone) and file system (waited until gone) -> the security groups
   (rules referencing each other revoked first) -> the admin secret
   (deleted without a recovery window, so that a rebuild can use its name
   again) -> the log group /stagehand/ENV/jenkins.

   Resources are found by the tags stagehand:env=NAME and
   stagehand:step=provision-jenkins, plus the ids recorded in
   ARTIFACTS_DIR/jenkins.json when it exists (it is not required). What
   other steps or other environments created is never touched. Already-gone
   counts as deleted, so running it twice is safe. jenkins.json is removed
   only when everything is gone. Jobs configured on Jenkins go with it.

   Refuses (exit 3) an environment marked "protected": true. Asks for the
   environment name on a terminal unless --yes; requires --yes otherwise.`,
	Kind:           step.Destroy,
	DefaultTimeout: 30 * time.Minute,
	Flags: []cli.Flag{
		resource.DependencyWaitFlag(10*time.Minute, "how long to retry a deletion that something still depends on (security groups held by network interfaces)"),
	},
	Run: run,
}

func newApp(stdout, stderr io.Writer) *cli.App { return step.NewApp(definition, stdout, stderr) }

func run(ctx context.Context, r *step.Run) error {
	return resource.Destroy(ctx, r, artifact.KindJenkins, func(a *artifact.Jenkins) ([]resource.Kind, error) {
		ws := workload.NewScope(r.AWS, r.Env.Name, jenkinsenv.StepName, r.Log)
		ws.DependencyBudget = r.CLI.Duration(resource.FlagDependencyWait)
		js := jenkinsenv.NewScope(r.AWS, r.Env.Name, jenkinsenv.StepName, r.Log)
		if a != nil {
			js.Artifact = a
			ws.Known = known(a)
		}
		return kinds(ws, js), nil
	})
}

// kinds is the teardown order: the workload's kinds (service, task
// definitions, load balancer, target group, security groups, log group)
// with the persistent home before the security groups (its mount targets
// hold one) and the secret before the log group.
func kinds(ws *workload.Scope, js *jenkinsenv.Scope) []resource.Kind {
	var out []resource.Kind
	for _, k := range workload.Kinds(ws) {
		switch k.Kind() {
		case workload.KindSecurityGroup:
			out = append(out, jenkinsenv.HomeKinds(js)...)
		case workload.KindLogGroup:
			out = append(out, jenkinsenv.SecretKinds(js)...)
		}
		out = append(out, k)
	}
	return out
}

// known are the ids of jenkins.json that the workload kinds delete too.
func known(a *artifact.Jenkins) workload.Known {
	k := workload.Known{Cluster: a.ClusterName}
	add := func(list *[]string, ids ...string) {
		for _, id := range ids {
			if id != "" {
				*list = append(*list, id)
			}
		}
	}
	add(&k.Services, a.ServiceARN)
	add(&k.TaskDefinitionARNs, a.TaskDefinitionARN)
	add(&k.LoadBalancerARNs, a.LoadBalancerARN)
	add(&k.TargetGroupARNs, a.TargetGroupARN)
	add(&k.SecurityGroupIDs, a.LoadBalancerSecurityGroupID, a.TaskSecurityGroupID, a.FileSystemSecurityGroupID)
	add(&k.LogGroups, a.LogGroupName)
	return k
}
