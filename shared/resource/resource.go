// Package resource is the shape of stagehand's teardown and inventory: each
// kind of AWS resource is one small type that lists the environment's
// resources of that kind and removes one. Destroy steps declare the order
// of kinds as data; verify-clean lists every kind any step creates.
package resource

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/sirupsen/logrus"

	"github.com/stagehand/stagehand/shared/parallel"
	"github.com/stagehand/stagehand/shared/step"
)

// Resource is one existing AWS resource of the environment.
type Resource struct {
	Kind   string `json:"kind"`
	ID     string `json:"id"`
	Name   string `json:"name,omitempty"`
	State  string `json:"state,omitempty"`
	Detail string `json:"detail,omitempty"`
	// Ref carries what Remove needs beyond the id (e.g. the VPC an internet gateway is attached to).
	Ref map[string]string `json:"-"`
}

func (r Resource) String() string {
	s := r.Kind + " " + r.ID
	if r.Name != "" && r.Name != r.ID {
		s += " (" + r.Name + ")"
	}
	return s
}

// Lister lists the environment's resources of one kind that still exist.
type Lister interface {
	Kind() string
	List(ctx context.Context) ([]Resource, error)
}

// Kind can also remove what it lists.
type Kind interface {
	Lister
	// Remove deletes r and waits until it no longer blocks what comes next.
	// It returns ErrGone when r was already gone.
	Remove(ctx context.Context, r Resource) error
}

// Preparer is implemented by kinds that must act on all their resources
// before removing any (security groups revoke their cross-references).
type Preparer interface {
	Prepare(ctx context.Context, rs []Resource) error
}

// ErrGone means the resource was already deleted; teardown counts it as done.
var ErrGone = errors.New("already gone")

// Concurrency bounds removals of one kind running side by side.
const Concurrency = 4

// Teardown removes every resource of kinds, kind after kind in the given
// order, resources of one kind side by side. With dryRun it only lists and
// records what it would delete. A kind whose removal fails stops the
// teardown: what comes after it depends on it being gone.
func Teardown(ctx context.Context, log logrus.FieldLogger, kinds []Kind, dryRun bool, sum *step.Summary) error {
	for _, k := range kinds {
		rs, err := k.List(ctx)
		if err != nil {
			return fmt.Errorf("list %ss: %w", k.Kind(), err)
		}
		if dryRun {
			for _, r := range rs {
				sum.Add(step.WouldDelete, r.Kind, r.ID, r.Name)
			}
			continue
		}
		if len(rs) == 0 {
			continue
		}
		if p, ok := k.(Preparer); ok {
			if err := p.Prepare(ctx, rs); err != nil {
				return fmt.Errorf("prepare %ss for deletion: %w", k.Kind(), err)
			}
		}
		err = parallel.Do(ctx, Concurrency, len(rs), func(ctx context.Context, i int) error {
			r := rs[i]
			rlog := log.WithFields(logrus.Fields{"resource": r.Kind, "id": r.ID, "name": r.Name})
			rlog.Info("deleting")
			err := k.Remove(ctx, r)
			switch {
			case errors.Is(err, ErrGone):
				sum.Add(step.AlreadyGone, r.Kind, r.ID, r.Name)
				return nil
			case err != nil:
				return fmt.Errorf("delete %s: %w", r, err)
			}
			rlog.Info("deleted")
			sum.Add(step.Deleted, r.Kind, r.ID, r.Name)
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Inventory lists every resource of the given kinds. Kinds are listed side
// by side; a kind that cannot be listed is an error, never "clean".
func Inventory(ctx context.Context, listers []Lister) ([]Resource, error) {
	var mu sync.Mutex
	var all []Resource
	err := parallel.Do(ctx, Concurrency, len(listers), func(ctx context.Context, i int) error {
		rs, err := listers[i].List(ctx)
		if err != nil {
			return fmt.Errorf("list %ss: %w", listers[i].Kind(), err)
		}
		mu.Lock()
		all = append(all, rs...)
		mu.Unlock()
		return nil
	})
	order := map[string]int{}
	for i, l := range listers {
		order[l.Kind()] = i
	}
	sort.SliceStable(all, func(i, j int) bool {
		if order[all[i].Kind] != order[all[j].Kind] {
			return order[all[i].Kind] < order[all[j].Kind]
		}
		return all[i].ID < all[j].ID
	})
	return all, err
}

// Listers returns kinds as listers.
func Listers(kinds ...Kind) []Lister {
	out := make([]Lister, len(kinds))
	for i, k := range kinds {
		out[i] = k
	}
	return out
}

// Merge adds to rs the resources of ids (from an artifact) that describe
// finds and rs does not already hold. describe returns ErrGone-free results:
// ids that no longer exist are simply absent.
func Merge(rs []Resource, extra []Resource) []Resource {
	seen := map[string]bool{}
	for _, r := range rs {
		seen[r.ID] = true
	}
	for _, r := range extra {
		if !seen[r.ID] {
			rs = append(rs, r)
			seen[r.ID] = true
		}
	}
	return rs
}
