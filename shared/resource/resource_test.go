package resource

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/sirupsen/logrus/hooks/test"

	"github.com/stagehand/stagehand/shared/step"
)

type fakeKind struct {
	name    string
	items   []Resource
	gone    map[string]bool
	fail    error
	log     *[]string
	mu      *sync.Mutex
	prepped bool
}

func (f *fakeKind) Kind() string                              { return f.name }
func (f *fakeKind) List(context.Context) ([]Resource, error)  { return f.items, nil }
func (f *fakeKind) Prepare(context.Context, []Resource) error { f.prepped = true; return nil }
func (f *fakeKind) Remove(_ context.Context, r Resource) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	*f.log = append(*f.log, f.name+":"+r.ID)
	if f.gone[r.ID] {
		return ErrGone
	}
	return f.fail
}

func TestTeardownOrderAndGone(t *testing.T) {
	var log []string
	mu := &sync.Mutex{}
	nat := &fakeKind{name: "nat", items: []Resource{{Kind: "nat", ID: "n1"}}, log: &log, mu: mu}
	sub := &fakeKind{name: "subnet", items: []Resource{{Kind: "subnet", ID: "s1"}, {Kind: "subnet", ID: "s2"}}, gone: map[string]bool{"s2": true}, log: &log, mu: mu}
	vpc := &fakeKind{name: "vpc", items: []Resource{{Kind: "vpc", ID: "v1"}}, log: &log, mu: mu}
	l, _ := test.NewNullLogger()
	sum := &step.Summary{}
	if err := Teardown(context.Background(), l, []Kind{nat, sub, vpc}, false, sum); err != nil {
		t.Fatal(err)
	}
	if log[0] != "nat:n1" || log[len(log)-1] != "vpc:v1" {
		t.Fatalf("order not kept: %v", log)
	}
	if sum.Count(step.Deleted) != 3 || sum.Count(step.AlreadyGone) != 1 {
		t.Fatalf("summary %+v", sum.Items())
	}
	if !sub.prepped {
		t.Fatal("Prepare not called")
	}
}

func TestTeardownStopsAtFailure(t *testing.T) {
	var log []string
	mu := &sync.Mutex{}
	boom := errors.New("boom")
	sub := &fakeKind{name: "subnet", items: []Resource{{Kind: "subnet", ID: "s1"}}, fail: boom, log: &log, mu: mu}
	vpc := &fakeKind{name: "vpc", items: []Resource{{Kind: "vpc", ID: "v1"}}, log: &log, mu: mu}
	l, _ := test.NewNullLogger()
	err := Teardown(context.Background(), l, []Kind{sub, vpc}, false, &step.Summary{})
	if !errors.Is(err, boom) {
		t.Fatalf("got %v", err)
	}
	for _, e := range log {
		if e == "vpc:v1" {
			t.Fatal("vpc removed after its subnet failed")
		}
	}
}

func TestTeardownDryRun(t *testing.T) {
	var log []string
	k := &fakeKind{name: "vpc", items: []Resource{{Kind: "vpc", ID: "v1"}}, log: &log, mu: &sync.Mutex{}}
	l, _ := test.NewNullLogger()
	sum := &step.Summary{}
	if err := Teardown(context.Background(), l, []Kind{k}, true, sum); err != nil {
		t.Fatal(err)
	}
	if len(log) != 0 || sum.Count(step.WouldDelete) != 1 {
		t.Fatalf("dry run removed %v / summary %+v", log, sum.Items())
	}
}

func TestInventory(t *testing.T) {
	mu := &sync.Mutex{}
	var log []string
	a := &fakeKind{name: "a", items: []Resource{{Kind: "a", ID: "2"}, {Kind: "a", ID: "1"}}, log: &log, mu: mu}
	b := &fakeKind{name: "b", items: []Resource{{Kind: "b", ID: "0"}}, log: &log, mu: mu}
	rs, err := Inventory(context.Background(), Listers(b, a))
	if err != nil || len(rs) != 3 || rs[0].Kind != "b" || rs[1].ID != "1" {
		t.Fatalf("got %v %v", rs, err)
	}
}
