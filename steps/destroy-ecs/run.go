package main

import (
	"context"
	"io"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/stagehand/stagehand/shared/artifact"
	"github.com/stagehand/stagehand/shared/cluster"
	"github.com/stagehand/stagehand/shared/resource"
	"github.com/stagehand/stagehand/shared/step"
)

var definition = step.Definition{
	Name:  "destroy-ecs",
	Usage: "delete the environment's ECS cluster and its capacity, found by tags (and ecs.json)",
	Description: `Deletes what bootstrap-ecs made, in dependency order:
   1. every ECS service still in the environment's cluster, whoever deployed
      it: scaled to 0, deleted, waited until INACTIVE; then every task still
      running there: stopped, waited until STOPPED;
   2. the auto scaling capacity: managed termination protection of the
      capacity provider and scale-in protection of the group and its
      instances turned off, the group set to min 0 / desired 0;
   3. container instances deregistered (with force);
   4. capacity providers detached from the cluster and deleted;
   5. the cluster; then the auto scaling group (deleted with force, waited
      until it and its instances are gone), any instance of the environment
      still running, and the launch template;
   6. the instance profile (its role removed first), then the roles (managed
      policies detached, inline policies deleted first).

   Resources are found by the tag stagehand:env=NAME (and stagehand:step=
   bootstrap-ecs) and by their NAME- names, plus the ids recorded in
   ARTIFACTS_DIR/ecs.json when it exists (it is not required). Nothing of
   other environments, and nothing untagged, is touched. Already-gone counts
   as deleted, so running it twice is safe. Deletions that something still
   depends on (a cluster with tasks, IAM's DeleteConflict, a scaling activity
   in progress) are retried for --dependency-wait; after that the error says
   what still holds on. ecs.json is removed only when everything is gone.

   Refuses (exit 3) an environment marked "protected": true. Asks for the
   environment name on a terminal unless --yes; requires --yes otherwise.`,
	Kind:           step.Destroy,
	DefaultTimeout: 45 * time.Minute,
	Flags: []cli.Flag{
		resource.DependencyWaitFlag(5*time.Minute, "how long to retry a deletion that something still depends on"),
	},
	Run: run,
}

func newApp(stdout, stderr io.Writer) *cli.App { return step.NewApp(definition, stdout, stderr) }

func run(ctx context.Context, r *step.Run) error {
	return resource.Destroy(ctx, r, artifact.KindECS, func(a *artifact.ECS) ([]resource.Kind, error) {
		return cluster.Kinds(&cluster.Scope{
			Clients: cluster.NewClients(r.AWS), Env: r.Env.Name, Step: cluster.CreateStep, Log: r.Log, Artifact: a,
			DependencyBudget: r.CLI.Duration(resource.FlagDependencyWait),
		}), nil
	})
}
