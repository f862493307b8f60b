package jenkinsenv

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"
	"github.com/sirupsen/logrus"

	"github.com/stagehand/stagehand/shared/environment"
	"github.com/stagehand/stagehand/shared/step"
	"github.com/stagehand/stagehand/shared/tags"
)

// fakeSecrets is Secrets Manager with at most one secret.
type fakeSecrets struct {
	SecretsAPI
	secret    *secretsmanager.DescribeSecretOutput
	value     string
	createErr []error // returned by the next CreateSecret calls, in order
	calls     []string
}

func apiErr(code string) error { return &smithy.GenericAPIError{Code: code, Message: code} }

func (f *fakeSecrets) DescribeSecret(_ context.Context, in *secretsmanager.DescribeSecretInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.DescribeSecretOutput, error) {
	f.calls = append(f.calls, "describe")
	if f.secret == nil {
		return nil, apiErr("ResourceNotFoundException")
	}
	return f.secret, nil
}

func (f *fakeSecrets) CreateSecret(_ context.Context, in *secretsmanager.CreateSecretInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.CreateSecretOutput, error) {
	f.calls = append(f.calls, "create")
	if len(f.createErr) > 0 {
		err := f.createErr[0]
		f.createErr = f.createErr[1:]
		if err != nil {
			return nil, err
		}
	}
	arn := "arn:aws:secretsmanager:us-east-1:123456789012:secret:" + aws.ToString(in.Name) + "-AbCdEf"
	f.secret = &secretsmanager.DescribeSecretOutput{ARN: &arn, Name: in.Name, Tags: in.Tags,
		VersionIdsToStages: map[string][]string{"v1": {currentStage}}}
	f.value = aws.ToString(in.SecretString)
	return &secretsmanager.CreateSecretOutput{ARN: &arn, Name: in.Name}, nil
}

func (f *fakeSecrets) PutSecretValue(_ context.Context, in *secretsmanager.PutSecretValueInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.PutSecretValueOutput, error) {
	f.calls = append(f.calls, "put")
	f.value = aws.ToString(in.SecretString)
	return &secretsmanager.PutSecretValueOutput{}, nil
}

func (f *fakeSecrets) RestoreSecret(_ context.Context, in *secretsmanager.RestoreSecretInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.RestoreSecretOutput, error) {
	f.calls = append(f.calls, "restore")
	f.secret.DeletedDate = nil
	return &secretsmanager.RestoreSecretOutput{}, nil
}

func quietLog() *logrus.Logger {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return l
}

func testBuilder(api SecretsAPI, dryRun bool) *Builder {
	env := &environment.Environment{Name: "stg", Region: "us-east-1", AccountID: "123456789012"}
	env.Jenkins.AdminUser = "admin"
	return &Builder{Env: env, Tags: tags.Set{Env: "stg", Step: StepName, Run: "r1"}, Log: quietLog(), Summary: &step.Summary{}, DryRun: dryRun, Secrets: api,
		RetryInterval: time.Millisecond}
}

func existing(envTag string, stages map[string][]string, deleted bool) *secretsmanager.DescribeSecretOutput {
	s := &secretsmanager.DescribeSecretOutput{
		ARN: aws.String("arn:aws:secretsmanager:us-east-1:123456789012:secret:stagehand/stg/jenkins-admin-XyZ"), Name: aws.String(SecretName("stg")),
		VersionIdsToStages: stages,
	}
	if envTag != "" {
		s.Tags = []smtypes.Tag{{Key: aws.String(tags.Env), Value: aws.String(envTag)}}
	}
	if deleted {
		s.DeletedDate = aws.Time(time.Now())
	}
	return s
}

func TestEnsureAdminSecret(t *testing.T) {
	current := map[string][]string{"v1": {currentStage}}
	for _, tc := range []struct {
		name      string
		secret    *secretsmanager.DescribeSecretOutput
		createErr []error
		race      bool // another run creates it (untagged) between describe and create
		dryRun    bool
		calls     string
		action    string
		err       string
	}{
		{name: "created when missing", calls: "describe create", action: step.Created},
		{name: "kept when present", secret: existing("stg", current, false), calls: "describe", action: step.Kept},
		{name: "value put when it has none", secret: existing("stg", map[string][]string{}, false), calls: "describe put", action: step.Updated},
		{name: "restored when scheduled for deletion", secret: existing("stg", current, true), calls: "describe restore", action: step.Updated},
		{name: "refused from another environment", secret: existing("prod", current, false), calls: "describe", err: `belongs to environment "prod"`},
		{name: "refused when untagged", secret: existing("", current, false), calls: "describe", err: "is not tagged"},
		{name: "dry run creates nothing", dryRun: true, calls: "describe", action: step.WouldCreate},
		{name: "dry run restores nothing", secret: existing("stg", current, true), dryRun: true, calls: "describe", action: step.WouldUpdate},
		{name: "retried while a deletion finishes", createErr: []error{apiErr("InvalidRequestException")}, calls: "describe create create", action: step.Created},
		{name: "other errors are not retried", createErr: []error{apiErr("AccessDeniedException")}, calls: "describe create", err: "AccessDeniedException"},
		{name: "created meanwhile is checked like any other", race: true, calls: "describe create describe", err: "is not tagged"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := &fakeSecrets{secret: tc.secret, createErr: tc.createErr}
			b := testBuilder(api, tc.dryRun)
			if tc.race {
				b.Secrets = &raceSecrets{fakeSecrets: api}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			arn, err := b.EnsureAdminSecret(ctx)
			if got := strings.Join(api.calls, " "); got != tc.calls {
				t.Errorf("calls %q, want %q", got, tc.calls)
			}
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			items := b.Summary.Items()
			if len(items) == 0 || items[len(items)-1].Action != tc.action || items[0].Kind != KindSecret {
				t.Fatalf("summary %+v, want %s", items, tc.action)
			}
			if tc.dryRun {
				if api.value != "" {
					t.Fatal("dry run stored a value")
				}
				return
			}
			if arn == "" || arn == planned {
				t.Fatalf("arn %q", arn)
			}
			if generated := strings.Contains(tc.calls, "create") || strings.Contains(tc.calls, "put"); generated && len(api.value) < 20 {
				t.Fatalf("password %q is too short", api.value)
			}
			for _, it := range items {
				if api.value != "" && strings.Contains(it.ID+it.Name, api.value) {
					t.Fatal("the password is in the summary")
				}
			}
		})
	}
}

// raceSecrets answers CreateSecret with ResourceExistsException after
// putting an untagged secret in place, as a concurrent creator would.
type raceSecrets struct{ *fakeSecrets }

func (r *raceSecrets) CreateSecret(ctx context.Context, in *secretsmanager.CreateSecretInput, _ ...func(*secretsmanager.Options)) (*secretsmanager.CreateSecretOutput, error) {
	r.calls = append(r.calls, "create")
	r.secret = existing("", map[string][]string{"v1": {currentStage}}, false)
	return nil, apiErr("ResourceExistsException")
}

func TestCreatedSecretIsTagged(t *testing.T) {
	api := &fakeSecrets{}
	b := testBuilder(api, false)
	if _, err := b.EnsureAdminSecret(context.Background()); err != nil {
		t.Fatal(err)
	}
	m := tags.FromSecretsManager(api.secret.Tags)
	if m[tags.Env] != "stg" || m[tags.Step] != StepName || m[tags.Run] != "r1" || m[tags.Name] != SecretName("stg") {
		t.Fatalf("tags %v", m)
	}
}

func TestNewPassword(t *testing.T) {
	a, b := NewPassword(), NewPassword()
	if a == b || len(a) < 26 {
		t.Fatalf("passwords %q %q", a, b)
	}
	if strings.ContainsAny(a, `"'$\ :#{}`) {
		t.Fatalf("password %q has characters that need quoting", a)
	}
}
