package main

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/stagehand/stagehand/shared/artifact"
	"github.com/stagehand/stagehand/shared/resource"
	"github.com/stagehand/stagehand/shared/step"
	"github.com/stagehand/stagehand/shared/workload"
)

// createdBy is the step whose resources this one deletes.
const createdBy = "run-containers"

var definition = step.Definition{
	Name:  "destroy-containers",
	Usage: "delete the environment's services and what run-containers made for them",
	Description: `Deletes what run-containers created, in dependency order:
   ECS services (scaled to 0, deleted, waited until INACTIVE, all side by
   side) -> task definitions (every ACTIVE revision deregistered) -> the
   load balancer (its listener and rules go with it; waited until gone) ->
   target groups -> security groups (retried while network interfaces of the
   load balancer or the tasks still hold them, for --dependency-wait) -> log
   groups. Then it removes ARTIFACTS_DIR/containers.json.

   Resources are found by the tags stagehand:env=NAME and
   stagehand:step=run-containers (so Jenkins, which provision-jenkins runs in
   the same cluster, is left alone), plus the ids recorded in containers.json
   when it exists (it is not required); services are looked for in the
   cluster of containers.json or ecs.json and in every cluster tagged with
   the environment. Already-gone counts as deleted, so running it twice is
   safe; containers.json is removed only when everything is gone.

   Refuses (exit 3) an environment marked "protected": true. Asks for the
   environment name on a terminal unless --yes; requires --yes otherwise.`,
	Kind:           step.Destroy,
	DefaultTimeout: 30 * time.Minute,
	Flags: []cli.Flag{
		resource.DependencyWaitFlag(10*time.Minute, "how long to retry a deletion that something still depends on"),
	},
	Run: run,
}

func newApp(stdout, stderr io.Writer) *cli.App { return step.NewApp(definition, stdout, stderr) }

func run(ctx context.Context, r *step.Run) error {
	return resource.Destroy(ctx, r, artifact.KindContainers, func(a *artifact.Containers) ([]resource.Kind, error) {
		scope := workload.NewScope(r.AWS, r.Env.Name, createdBy, r.Log)
		scope.DependencyBudget = r.CLI.Duration(resource.FlagDependencyWait)
		if a != nil {
			scope.Known = known(a)
			return workload.Kinds(scope), nil
		}
		// Without containers.json, ecs.json still names the cluster.
		var cl artifact.ECS
		switch err := artifact.Read(r.ArtifactsDir, &cl, r.Expect(artifact.KindECS)); {
		case err == nil:
			scope.Known.Cluster = cl.ClusterName
		case !errors.Is(err, artifact.ErrNotExist):
			return nil, err
		}
		return workload.Kinds(scope), nil
	})
}

// known are the ids containers.json recorded.
func known(a *artifact.Containers) workload.Known {
	k := workload.Known{Cluster: a.ClusterName}
	if a.LoadBalancerARN != "" {
		k.LoadBalancerARNs = append(k.LoadBalancerARNs, a.LoadBalancerARN)
	}
	for _, id := range []string{a.LoadBalancerSecurityGroupID, a.ServicesSecurityGroupID} {
		if id != "" {
			k.SecurityGroupIDs = append(k.SecurityGroupIDs, id)
		}
	}
	for _, s := range a.Services {
		if s.ServiceARN != "" {
			k.Services = append(k.Services, s.ServiceARN)
		}
		if s.TaskDefinitionARN != "" {
			k.TaskDefinitionARNs = append(k.TaskDefinitionARNs, s.TaskDefinitionARN)
		}
		if s.TargetGroupARN != "" {
			k.TargetGroupARNs = append(k.TargetGroupARNs, s.TargetGroupARN)
		}
		if s.LogGroup != "" {
			k.LogGroups = append(k.LogGroups, s.LogGroup)
		}
	}
	return k
}
