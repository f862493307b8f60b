package jenkinsenv

import (
	"context"
	"errors"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/efs"
	efstypes "github.com/aws/aws-sdk-go-v2/service/efs/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"

	"github.com/stagehand/stagehand/shared/artifact"
	"github.com/stagehand/stagehand/shared/resource"
	"github.com/stagehand/stagehand/shared/tags"
)

func smTags(env, stepName string) []smtypes.Tag {
	return tags.SecretsManager(map[string]string{tags.Env: env, tags.Step: stepName})
}

// listSecrets is Secrets Manager with a fixed list of secrets; it ignores
// filters, as a lenient API might, so the kind's own tag check counts.
type listSecrets struct {
	SecretsAPI
	list    []smtypes.SecretListEntry
	deleted []string
	gone    map[string]bool
}

func (f *listSecrets) ListSecrets(_ context.Context, in *secretsmanager.ListSecretsInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.ListSecretsOutput, error) {
	return &secretsmanager.ListSecretsOutput{SecretList: f.list}, nil
}

func (f *listSecrets) DescribeSecret(_ context.Context, in *secretsmanager.DescribeSecretInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error) {
	for _, e := range f.list {
		if aws.ToString(e.ARN) == aws.ToString(in.SecretId) {
			return &secretsmanager.DescribeSecretOutput{ARN: e.ARN, Name: e.Name, Tags: e.Tags, DeletedDate: e.DeletedDate}, nil
		}
	}
	return nil, apiErr("ResourceNotFoundException")
}

func (f *listSecrets) DeleteSecret(_ context.Context, in *secretsmanager.DeleteSecretInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.DeleteSecretOutput, error) {
	if !aws.ToBool(in.ForceDeleteWithoutRecovery) || in.RecoveryWindowInDays != nil {
		return nil, errors.New("deleted with a recovery window")
	}
	if f.gone[aws.ToString(in.SecretId)] {
		return nil, apiErr("ResourceNotFoundException")
	}
	f.deleted = append(f.deleted, aws.ToString(in.SecretId))
	return &secretsmanager.DeleteSecretOutput{}, nil
}

func ids(rs []resource.Resource) string {
	var out []string
	for _, r := range rs {
		out = append(out, r.ID)
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

func TestSecretKind(t *testing.T) {
	api := &listSecrets{list: []smtypes.SecretListEntry{
		{ARN: aws.String("arn:ours"), Name: aws.String("stagehand/stg/jenkins-admin"), Tags: smTags("stg", StepName)},
		{ARN: aws.String("arn:containers"), Name: aws.String("stagehand/stg/db"), Tags: smTags("stg", "run-containers")},
		{ARN: aws.String("arn:prod"), Name: aws.String("stagehand/prod/jenkins-admin"), Tags: smTags("prod", StepName)},
		{ARN: aws.String("arn:untagged"), Name: aws.String("stagehand/stg/manual")},
	}, gone: map[string]bool{"arn:gone": true}}
	ctx := context.Background()
	for _, tc := range []struct {
		name, step string
		artifact   *artifact.Jenkins
		want       string
	}{
		{name: "destroy-jenkins: its own", step: StepName, want: "arn:ours"},
		{name: "verify-clean: every step's", step: "", want: "arn:containers arn:ours"},
		{name: "an artifact id of another environment is not taken", step: StepName, artifact: &artifact.Jenkins{AdminSecretARN: "arn:prod"}, want: "arn:ours"},
		{name: "an artifact id that is gone is not listed", step: StepName, artifact: &artifact.Jenkins{AdminSecretARN: "arn:nope"}, want: "arn:ours"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := SecretKinds(&Scope{Env: "stg", Step: tc.step, Artifact: tc.artifact, Secrets: api, Log: quietLog()})[0]
			rs, err := k.List(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(rs); got != tc.want {
				t.Fatalf("listed %q, want %q", got, tc.want)
			}
		})
	}
	k := SecretKinds(&Scope{Env: "stg", Secrets: api, Log: quietLog()})[0]
	if err := k.Remove(ctx, resource.Resource{ID: "arn:ours"}); err != nil || strings.Join(api.deleted, ",") != "arn:ours" {
		t.Fatalf("remove: %v, deleted %v", err, api.deleted)
	}
	if err := k.Remove(ctx, resource.Resource{ID: "arn:gone"}); !errors.Is(err, resource.ErrGone) {
		t.Fatalf("remove of a deleted secret: %v, want ErrGone", err)
	}
}

// fileSystemsAPI answers DescribeFileSystems from a fixed list.
type fileSystemsAPI struct {
	EFSAPI
	fss []efstypes.FileSystemDescription
}

func (f *fileSystemsAPI) DescribeFileSystems(_ context.Context, in *efs.DescribeFileSystemsInput, _ ...func(*efs.Options)) (*efs.DescribeFileSystemsOutput, error) {
	if in.FileSystemId == nil {
		return &efs.DescribeFileSystemsOutput{FileSystems: f.fss}, nil
	}
	for _, fs := range f.fss {
		if aws.ToString(fs.FileSystemId) == *in.FileSystemId {
			return &efs.DescribeFileSystemsOutput{FileSystems: []efstypes.FileSystemDescription{fs}}, nil
		}
	}
	return nil, apiErr("FileSystemNotFound")
}

func TestFileSystemKind(t *testing.T) {
	fs := func(id, env, stepName string, state efstypes.LifeCycleState) efstypes.FileSystemDescription {
		return efstypes.FileSystemDescription{FileSystemId: aws.String(id), LifeCycleState: state,
			Tags: tags.EFS(map[string]string{tags.Env: env, tags.Step: stepName})}
	}
	api := &fileSystemsAPI{fss: []efstypes.FileSystemDescription{
		fs("fs-ours", "stg", StepName, efstypes.LifeCycleStateAvailable),
		fs("fs-deleted", "stg", StepName, efstypes.LifeCycleStateDeleted),
		fs("fs-other-step", "stg", "someone", efstypes.LifeCycleStateAvailable),
		fs("fs-prod", "prod", StepName, efstypes.LifeCycleStateAvailable),
	}}
	for _, tc := range []struct {
		name, step string
		artifact   *artifact.Jenkins
		want       string
	}{
		{name: "destroy-jenkins", step: StepName, want: "fs-ours"},
		{name: "verify-clean", want: "fs-other-step fs-ours"},
		{name: "artifact id of the environment", step: StepName, artifact: &artifact.Jenkins{FileSystemID: "fs-other-step"}, want: "fs-other-step fs-ours"},
		{name: "artifact id of another environment", step: StepName, artifact: &artifact.Jenkins{FileSystemID: "fs-prod"}, want: "fs-ours"},
		{name: "artifact id gone", step: StepName, artifact: &artifact.Jenkins{FileSystemID: "fs-nope"}, want: "fs-ours"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &Scope{Env: "stg", Step: tc.step, Artifact: tc.artifact, EFS: api, Log: quietLog()}
			rs, err := (&fileSystems{s}).List(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(rs); got != tc.want {
				t.Fatalf("listed %q, want %q", got, tc.want)
			}
		})
	}
}
