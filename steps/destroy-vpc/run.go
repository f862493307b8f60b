package main

import (
	"context"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/urfave/cli/v2"

	"github.com/stagehand/stagehand/shared/artifact"
	"github.com/stagehand/stagehand/shared/network"
	"github.com/stagehand/stagehand/shared/resource"
	"github.com/stagehand/stagehand/shared/step"
)

var definition = step.Definition{
	Name:  "destroy-vpc",
	Usage: "delete the environment's network, found by tags (and vpc.json)",
	Description: `Deletes the network create-vpc made, in dependency order:
   NAT gateways (waited until deleted) -> Elastic IPs -> internet gateway
   (detached, deleted) -> route tables (disassociated, deleted) -> subnets ->
   security groups (rules referencing each other revoked first) -> VPC.

   Resources are found by the tag stagehand:env=NAME, plus the ids recorded in
   ARTIFACTS_DIR/vpc.json when it exists (it is not required). Resources of
   other environments and untagged ones are never touched. Already-gone counts
   as deleted, so running it twice is safe. A DependencyViolation is retried
   for --dependency-wait; after that the error names the network interfaces
   that still block. vpc.json is removed only when everything is gone.

   Refuses (exit 3) an environment marked "protected": true. Asks for the
   environment name on a terminal unless --yes; requires --yes otherwise.`,
	Kind:           step.Destroy,
	DefaultTimeout: 30 * time.Minute,
	Flags: []cli.Flag{
		resource.DependencyWaitFlag(5*time.Minute, "how long to retry a deletion that something still depends on"),
	},
	Run: run,
}

func newApp(stdout, stderr io.Writer) *cli.App { return step.NewApp(definition, stdout, stderr) }

func run(ctx context.Context, r *step.Run) error {
	return resource.Destroy(ctx, r, artifact.KindVPC, func(a *artifact.VPC) ([]resource.Kind, error) {
		return network.Kinds(&network.Scope{
			API: ec2.NewFromConfig(r.AWS), Env: r.Env.Name, Log: r.Log, Artifact: a,
			DependencyBudget: r.CLI.Duration(resource.FlagDependencyWait),
		}), nil
	})
}
