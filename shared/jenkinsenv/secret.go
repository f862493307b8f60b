package jenkinsenv

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/stagehand/stagehand/shared/awserr"
	"github.com/stagehand/stagehand/shared/step"
	"github.com/stagehand/stagehand/shared/tags"
	"github.com/stagehand/stagehand/shared/wait"
)

// SecretsAPI is the part of Secrets Manager this package calls.
type SecretsAPI interface {
	secretsmanager.ListSecretsAPIClient
	DescribeSecret(ctx context.Context, in *secretsmanager.DescribeSecretInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error)
	CreateSecret(ctx context.Context, in *secretsmanager.CreateSecretInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.CreateSecretOutput, error)
	PutSecretValue(ctx context.Context, in *secretsmanager.PutSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error)
	RestoreSecret(ctx context.Context, in *secretsmanager.RestoreSecretInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.RestoreSecretOutput, error)
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
	DeleteSecret(ctx context.Context, in *secretsmanager.DeleteSecretInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.DeleteSecretOutput, error)
}

// KindSecret is the kind of the admin secret in summaries and verify-clean.
const KindSecret = "secret"

// SecretName is the name of the secret that keeps the admin password of
// environment env's Jenkins.
func SecretName(env string) string { return "stagehand/" + env + "/jenkins-admin" }

// currentStage is the staging label of a secret's current value.
const currentStage = "AWSCURRENT"

// NewPassword returns a random password: 26 characters of base32 from
// crypto/rand (128 bits), safe in YAML, shell and URLs.
func NewPassword() string { return rand.Text() }

// secretRecreateBudget bounds the retries of CreateSecret while a secret of
// the same name is still being deleted (a force delete takes a moment).
const secretRecreateBudget = 2 * time.Minute

// EnsureAdminSecret makes the admin secret exist and returns its ARN. The
// password is generated once, when the secret is created, and never again:
// later runs keep it (a value is generated only when the secret has none).
// A secret of that name that does not carry the environment's tag is
// refused; one of the environment that is scheduled for deletion is
// restored.
func (b *Builder) EnsureAdminSecret(ctx context.Context) (string, error) {
	name := SecretName(b.Env.Name)
	out, err := b.Secrets.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: &name})
	if awserr.NotFound(err) {
		arn, cerr := b.createSecret(ctx, name)
		if !awserr.Exists(cerr) {
			return arn, cerr
		}
		// Created in between by another run: take it like any other.
		out, err = b.Secrets.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: &name})
	}
	if err != nil {
		return "", fmt.Errorf("describe secret %s: %w", name, err)
	}
	return b.keepSecret(ctx, name, out)
}

// keepSecret checks an existing admin secret and gives it a value (or
// restores it) when needed.
func (b *Builder) keepSecret(ctx context.Context, name string, out *secretsmanager.DescribeSecretOutput) (string, error) {
	arn := aws.ToString(out.ARN)
	if err := owned(KindSecret, name, tags.FromSecretsManager(out.Tags), b.Env.Name); err != nil {
		return "", err
	}
	hasValue := false
	for _, stages := range out.VersionIdsToStages {
		for _, s := range stages {
			hasValue = hasValue || s == currentStage
		}
	}
	if out.DeletedDate == nil && hasValue {
		b.record(step.Kept, KindSecret, arn, name)
		return arn, nil
	}
	if b.DryRun {
		b.record(step.WouldUpdate, KindSecret, arn, name)
		return arn, nil
	}
	if out.DeletedDate != nil {
		if _, err := b.Secrets.RestoreSecret(ctx, &secretsmanager.RestoreSecretInput{SecretId: &arn}); err != nil {
			return "", fmt.Errorf("restore secret %s (scheduled for deletion): %w", name, err)
		}
		b.record(step.Updated, KindSecret, arn, name+" (restored)")
	}
	if !hasValue {
		pw := NewPassword()
		if _, err := b.Secrets.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: &arn, SecretString: &pw}); err != nil {
			return "", fmt.Errorf("put a value in secret %s: %w", name, err)
		}
		b.record(step.Updated, KindSecret, arn, name+" (new password: it had none)")
	}
	return arn, nil
}

func (b *Builder) createSecret(ctx context.Context, name string) (string, error) {
	if b.DryRun {
		b.record(step.WouldCreate, KindSecret, planned, name)
		return planned, nil
	}
	pw := NewPassword()
	var arn string
	err := wait.Retry(ctx, b.Log, wait.Target{Kind: KindSecret, ID: name}, secretRecreateBudget, b.retryInterval(),
		func(err error) bool { return awserr.Is(err, "InvalidRequestException") },
		func(ctx context.Context) error {
			out, err := b.Secrets.CreateSecret(ctx, &secretsmanager.CreateSecretInput{
				Name:         &name,
				Description:  aws.String("stagehand " + b.Env.Name + ": password of the Jenkins admin user " + b.Env.Jenkins.AdminUser + " (provision-jenkins)"),
				SecretString: &pw,
				Tags:         tags.SecretsManager(b.Tags.Map(name)),
			})
			if err == nil {
				arn = aws.ToString(out.ARN)
			}
			return err
		})
	if err != nil {
		return "", fmt.Errorf("create secret %s: %w", name, err)
	}
	b.record(step.Created, KindSecret, arn, name)
	return arn, nil
}

// AdminPassword reads the admin password from the secret. It is passed to
// the Jenkins client only: never logged, never written anywhere.
func (b *Builder) AdminPassword(ctx context.Context, secretARN string) (string, error) {
	out, err := b.Secrets.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &secretARN})
	if err != nil {
		return "", fmt.Errorf("read secret %s: %w", secretARN, err)
	}
	if aws.ToString(out.SecretString) == "" {
		return "", errors.New("read secret " + secretARN + ": it holds no password")
	}
	return aws.ToString(out.SecretString), nil
}
