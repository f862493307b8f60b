package awserr

import (
	"errors"
	"fmt"
	"testing"

	"github.com/aws/smithy-go"
)

func TestTranslate(t *testing.T) {
	tests := []struct {
		code string
		want error
	}{
		{"InvalidVpcID.NotFound", ErrNotFound},
		{"NoSuchEntity", ErrNotFound},
		{"DependencyViolation", ErrDependency},
		{"DeleteConflict", ErrDependency},
		{"EntityAlreadyExists", ErrExists},
		{"Throttling", ErrThrottled},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			api := &smithy.GenericAPIError{Code: tt.code, Message: "m"}
			err := Translate(fmt.Errorf("delete x: %w", api))
			if !errors.Is(err, tt.want) {
				t.Fatalf("Translate(%s) is not %v", tt.code, tt.want)
			}
			var back smithy.APIError
			if !errors.As(err, &back) || back.ErrorCode() != tt.code {
				t.Fatalf("original API error lost")
			}
		})
	}
	if err := Translate(errors.New("plain")); errors.Is(err, ErrNotFound) {
		t.Fatal("plain error became not-found")
	}
	if Translate(nil) != nil {
		t.Fatal("nil must stay nil")
	}
	if !NotFound(&smithy.GenericAPIError{Code: "NatGatewayNotFound"}) || Dependency(&smithy.GenericAPIError{Code: "NatGatewayNotFound"}) {
		t.Fatal("helpers disagree with the table")
	}
}
