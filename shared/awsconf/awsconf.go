// Package awsconf is the one place that loads AWS configuration for a step:
// region, profile, endpoint, retryer, the environment's role, and the
// account guard that runs before any change.
package awsconf

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/sirupsen/logrus"

	"github.com/stagehand/stagehand/shared/environment"
	"github.com/stagehand/stagehand/shared/exitcode"
)

// MaxAttempts is the retryer's attempts per API call: generous, because a
// step runs for minutes and throttling in a busy account is normal.
const MaxAttempts = 8

// Load builds the AWS configuration for env. AWS_PROFILE, AWS_REGION and
// AWS_ENDPOINT_URL keep their SDK meaning and win over the environment
// file's profile and endpoint; the region is always the environment's.
func Load(ctx context.Context, env *environment.Environment, log logrus.FieldLogger) (aws.Config, error) {
	opts := []func(*config.LoadOptions) error{
		config.WithRegion(env.Region),
		config.WithRetryer(func() aws.Retryer {
			// A new retryer per client: a shared one would make every
			// client draw from one token bucket.
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = MaxAttempts
			})
		}),
	}
	if env.Profile != "" && os.Getenv("AWS_PROFILE") == "" {
		opts = append(opts, config.WithSharedConfigProfile(env.Profile))
	}
	if region := os.Getenv("AWS_REGION"); region != "" && region != env.Region {
		log.WithFields(logrus.Fields{"AWS_REGION": region, "region": env.Region}).
			Warn("AWS_REGION differs from the environment's region; using the environment's")
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.BaseEndpoint == nil && env.Endpoint != "" {
		cfg.BaseEndpoint = aws.String(env.Endpoint)
	}
	if env.RoleARN != "" {
		client := sts.NewFromConfig(cfg)
		cfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(client, env.RoleARN,
			func(o *stscreds.AssumeRoleOptions) {
				o.RoleSessionName = "stagehand-" + env.Name
				if env.ExternalID != "" {
					o.ExternalID = aws.String(env.ExternalID)
				}
			}))
	}
	return cfg, nil
}

// Identity is who the step runs as.
type Identity struct {
	Account string
	ARN     string
}

// CallerIdentityAPI is the one STS call the guard makes.
type CallerIdentityAPI interface {
	GetCallerIdentity(ctx context.Context, in *sts.GetCallerIdentityInput, optFns ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error)
}

// ErrWrongAccount is returned when the credentials belong to another account.
var ErrWrongAccount = errors.New("credentials belong to another account")

// CheckAccount verifies that the credentials belong to the environment's
// account. A mismatch is an exit-3 refusal; failing to ask is exit 3 too,
// since nothing may change before the account is known.
func CheckAccount(ctx context.Context, api CallerIdentityAPI, env *environment.Environment) (Identity, error) {
	out, err := api.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		if ctx.Err() != nil {
			return Identity{}, fmt.Errorf("check account: %w", err)
		}
		return Identity{}, exitcode.Refusedf("check account: cannot tell which account the credentials belong to, so nothing was changed: %v", err)
	}
	id := Identity{Account: aws.ToString(out.Account), ARN: aws.ToString(out.Arn)}
	if id.Account != env.AccountID {
		return id, exitcode.New(exitcode.Refused, fmt.Errorf(
			"%w: environment %q (%s) lives in account %s, but the credentials (%s) are of account %s; nothing was changed",
			ErrWrongAccount, env.Name, env.Path, env.AccountID, id.ARN, id.Account))
	}
	return id, nil
}
