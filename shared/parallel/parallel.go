// Package parallel runs independent calls side by side with a bound.
package parallel

import (
	"context"
	"errors"
	"sync"
)

// Do calls fn(ctx, i) for i in [0, n) with at most limit calls at once and
// returns all their errors joined. Every call runs even if another fails,
// so that what can be done is done.
func Do(ctx context.Context, limit, n int, fn func(ctx context.Context, i int) error) error {
	if limit < 1 {
		limit = 1
	}
	sem := make(chan struct{}, limit)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			errs[i] = fn(ctx, i)
		}(i)
	}
	wg.Wait()
	return errors.Join(errs...)
}

// All runs the given functions side by side and joins their errors.
func All(ctx context.Context, fns ...func(ctx context.Context) error) error {
	return Do(ctx, len(fns), len(fns), func(ctx context.Context, i int) error { return fns[i](ctx) })
}
