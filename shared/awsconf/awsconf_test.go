package awsconf

import (
	"context"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"

	"github.com/stagehand/stagehand/shared/environment"
	"github.com/stagehand/stagehand/shared/exitcode"
)

type fakeSTS struct {
	account string
	err     error
}

func (f fakeSTS) GetCallerIdentity(context.Context, *sts.GetCallerIdentityInput, ...func(*sts.Options)) (*sts.GetCallerIdentityOutput, error) {
	if f.err != nil {
		return nil, f.err
	}
	return &sts.GetCallerIdentityOutput{Account: aws.String(f.account), Arn: aws.String("arn:aws:iam::" + f.account + ":user/ci")}, nil
}

func TestCheckAccount(t *testing.T) {
	env := &environment.Environment{Name: "staging", Path: "environments/staging.json", AccountID: "123456789012"}
	tests := []struct {
		name string
		api  fakeSTS
		code int
	}{
		{"same account", fakeSTS{account: "123456789012"}, exitcode.OK},
		{"other account", fakeSTS{account: "210987654321"}, exitcode.Refused},
		{"no credentials", fakeSTS{err: &smithy.GenericAPIError{Code: "InvalidClientTokenId"}}, exitcode.Refused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := CheckAccount(context.Background(), tt.api, env)
			if got := exitcode.Of(err); got != tt.code {
				t.Fatalf("exit %d (%v), want %d", got, err, tt.code)
			}
			if tt.code == exitcode.Refused && tt.api.err == nil && !errors.Is(err, ErrWrongAccount) {
				t.Fatalf("want ErrWrongAccount, got %v", err)
			}
			if tt.code == exitcode.OK && id.Account != "123456789012" {
				t.Fatalf("identity %+v", id)
			}
		})
	}
}
