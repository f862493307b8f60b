package main

import (
	"context"
	"errors"
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
		&cli.DurationFlag{Name: "dependency-wait", Value: 5 * time.Minute, EnvVars: []string{"STAGEHAND_DEPENDENCY_WAIT"},
			Usage: "how long to retry a deletion that something still depends on"},
	},
	Run: run,
}

func newApp(stdout, stderr io.Writer) *cli.App { return step.NewApp(definition, stdout, stderr) }

func run(ctx context.Context, r *step.Run) error {
	scope := &network.Scope{
		API: ec2.NewFromConfig(r.AWS), Env: r.Env.Name, Log: r.Log,
		DependencyBudget: r.CLI.Duration("dependency-wait"),
	}
	var a artifact.VPC
	switch err := artifact.Read(r.ArtifactsDir, &a, r.Expect(artifact.KindVPC)); {
	case err == nil:
		scope.Artifact = &a
	case errors.Is(err, artifact.ErrNotExist):
		r.Log.Info("no vpc.json: finding the network by tags alone")
	default:
		return err
	}
	if err := resource.Teardown(ctx, r.Log, network.Kinds(scope), r.DryRun, r.Summary); err != nil {
		return err
	}
	if r.DryRun {
		return nil
	}
	return artifact.Remove(r.ArtifactsDir, artifact.KindVPC)
}
