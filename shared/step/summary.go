package step

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// Actions recorded in a Summary.
const (
	Created     = "created"
	Updated     = "updated"
	Kept        = "exists"
	Deleted     = "deleted"
	AlreadyGone = "already gone"
	WouldCreate = "would create"
	WouldUpdate = "would update"
	WouldDelete = "would delete"
	Found       = "left"
)

// Item is one line of the summary.
type Item struct {
	Action string
	Kind   string
	ID     string
	Name   string
}

// Summary collects what a step did, safe for concurrent use, and prints it
// at the end of the step.
type Summary struct {
	mu    sync.Mutex
	items []Item
}

// Add records one action on one resource.
func (s *Summary) Add(action, kind, id, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.items = append(s.items, Item{Action: action, Kind: kind, ID: id, Name: name})
}

// Items returns a copy of what was recorded.
func (s *Summary) Items() []Item {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Item(nil), s.items...)
}

// Count returns how many items carry action.
func (s *Summary) Count(action string) int {
	n := 0
	for _, it := range s.Items() {
		if it.Action == action {
			n++
		}
	}
	return n
}

// Print writes the summary as a table followed by one line of totals.
func (s *Summary) Print(w io.Writer, step, env string, dryRun bool, took time.Duration, err error) {
	items := s.Items()
	title := fmt.Sprintf("%s %s", step, env)
	if dryRun {
		title += " (dry run: nothing was changed)"
	}
	fmt.Fprintf(w, "\n== %s ==\n", title)
	if len(items) > 0 {
		tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
		for _, it := range items {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", it.Action, it.Kind, it.ID, it.Name)
		}
		tw.Flush()
	}
	counts := map[string]int{}
	for _, it := range items {
		counts[it.Action]++
	}
	actions := make([]string, 0, len(counts))
	for a := range counts {
		actions = append(actions, a)
	}
	sort.Strings(actions)
	parts := make([]string, 0, len(actions))
	for _, a := range actions {
		parts = append(parts, fmt.Sprintf("%d %s", counts[a], a))
	}
	if len(parts) == 0 {
		parts = append(parts, "nothing to do")
	}
	status := "ok"
	if err != nil {
		status = "FAILED"
	}
	fmt.Fprintf(w, "%s: %s in %s\n", status, strings.Join(parts, ", "), took.Round(100*time.Millisecond))
}

// SummaryFile is where a step's summary is kept in the artifacts dir, so a
// pipeline can show what each step did and how long it took.
func SummaryFile(dir, step string) string { return filepath.Join(dir, "summary-"+step+".txt") }

// WriteFile writes the printed summary to SummaryFile(dir, step).
func (s *Summary) WriteFile(dir, step, env string, dryRun bool, took time.Duration, err error) error {
	var b bytes.Buffer
	s.Print(&b, step, env, dryRun, took, err)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	return os.WriteFile(SummaryFile(dir, step), b.Bytes(), 0o644)
}
