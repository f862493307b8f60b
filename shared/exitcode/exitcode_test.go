package exitcode

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestOf(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"nil", nil, OK},
		{"plain", errors.New("boom"), Failed},
		{"usage", Usagef("bad flag %q", "x"), Usage},
		{"refused wrapped", fmt.Errorf("guard: %w", Refusedf("wrong account")), Refused},
		{"deadline", fmt.Errorf("wait vpc: %w", context.DeadlineExceeded), Timeout},
		{"leftovers", New(Leftovers, errors.New("3 left")), Leftovers},
		{"new nil", New(Usage, nil), OK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Of(tt.err); got != tt.want {
				t.Fatalf("Of(%v) = %d, want %d", tt.err, got, tt.want)
			}
		})
	}
}
