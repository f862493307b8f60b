package main

import (
	"context"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/urfave/cli/v2"

	"github.com/stagehand/stagehand/shared/artifact"
	"github.com/stagehand/stagehand/shared/network"
	"github.com/stagehand/stagehand/shared/step"
)

var definition = step.Definition{
	Name:  "create-vpc",
	Usage: "create the environment's network and write vpc.json",
	Description: `Creates (or finds, by tags) the environment's network:
   - a VPC with DNS support and hostnames (network.cidr);
   - a public and a private subnet in each of network.az_count availability
     zones (default 2, discovered in the region), each a sixteenth of the VPC;
   - an internet gateway; NAT gateways with their Elastic IPs by network.nat:
     "single" (default, one NAT for all private subnets), "per-az", or "none";
   - route tables: public -> internet gateway, private (one per zone) -> NAT;
   - the base security group (traffic allowed between its members).
   Independent resources are created side by side; it waits only for the NAT
   gateways. Then it writes ARTIFACTS_DIR/vpc.json.

   Everything is tagged stagehand:env, stagehand:step, stagehand:run and Name
   and found again by those tags: a second run creates nothing, and a run
   killed half-way and started again completes without duplicates.`,
	Kind:           step.Create,
	DefaultTimeout: 20 * time.Minute,
	Run:            run,
}

func newApp(stdout, stderr io.Writer) *cli.App { return step.NewApp(definition, stdout, stderr) }

func run(ctx context.Context, r *step.Run) error {
	b := &network.Builder{
		API: ec2.NewFromConfig(r.AWS), Env: r.Env, Tags: r.Tags, Log: r.Log,
		Summary: r.Summary, DryRun: r.DryRun,
	}
	out, err := b.Ensure(ctx)
	if err != nil || r.DryRun {
		return err
	}
	return r.SaveArtifact(out, artifact.KindVPC)
}
