package parallel

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
)

func TestDoBoundAndErrors(t *testing.T) {
	var running, peak int32
	boom := errors.New("boom")
	err := Do(context.Background(), 3, 20, func(ctx context.Context, i int) error {
		n := atomic.AddInt32(&running, 1)
		for {
			p := atomic.LoadInt32(&peak)
			if n <= p || atomic.CompareAndSwapInt32(&peak, p, n) {
				break
			}
		}
		defer atomic.AddInt32(&running, -1)
		if i == 7 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want boom", err)
	}
	if peak > 3 {
		t.Fatalf("peak concurrency %d > 3", peak)
	}
}

func TestAll(t *testing.T) {
	var n int32
	inc := func(context.Context) error { atomic.AddInt32(&n, 1); return nil }
	if err := All(context.Background(), inc, inc, inc); err != nil || n != 3 {
		t.Fatalf("err=%v n=%d", err, n)
	}
}
