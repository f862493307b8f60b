// Package artifact reads and writes the JSON files the steps hand to each
// other. Every artifact starts with a Header; writes are atomic (temp file +
// rename) and reads validate schema, environment and account.
package artifact

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/stagehand/stagehand/shared/exitcode"
)

// SchemaVersion is the version every artifact is written with and the only
// one read back.
const SchemaVersion = 1

// Header is the common part of every artifact.
type Header struct {
	Schema    int       `json:"schema"`
	Kind      string    `json:"kind"`
	Env       string    `json:"env"`
	Account   string    `json:"account"`
	Region    string    `json:"region"`
	RunID     string    `json:"run_id"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func (h *Header) header() *Header { return h }

// Artifact is implemented by every struct that embeds Header.
type Artifact interface{ header() *Header }

// Expect is what a reader requires of an artifact's header.
type Expect struct {
	Kind    string
	Env     string
	Account string
	Region  string
}

// ErrNotExist is returned by Read when the file is absent.
var ErrNotExist = errors.New("artifact does not exist")

// Path is where artifact kind lives in dir (e.g. dir/vpc.json).
func Path(dir, kind string) string { return filepath.Join(dir, kind+".json") }

// Write stores a atomically at dir/KIND.json. It fills in the schema and,
// when creating, CreatedAt (kept from a previous artifact otherwise).
func Write(dir string, a Artifact) error {
	h := a.header()
	if h.Kind == "" || h.Env == "" || h.Account == "" {
		return fmt.Errorf("write artifact: header needs kind, env and account")
	}
	h.Schema = SchemaVersion
	now := time.Now().UTC().Truncate(time.Second)
	if h.CreatedAt.IsZero() {
		h.CreatedAt = now
	}
	h.UpdatedAt = now
	data, err := json.MarshalIndent(a, "", "  ")
	if err != nil {
		return fmt.Errorf("encode artifact %s: %w", h.Kind, err)
	}
	data = append(data, '\n')
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create artifacts dir %s: %w", dir, err)
	}
	final := Path(dir, h.Kind)
	tmp, err := os.CreateTemp(dir, "."+h.Kind+".json.tmp-*")
	if err != nil {
		return fmt.Errorf("write artifact %s: %w", final, err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write artifact %s: %w", final, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write artifact %s: %w", final, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write artifact %s: %w", final, err)
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		return fmt.Errorf("write artifact %s: %w", final, err)
	}
	return nil
}

// Read loads dir/KIND.json into a and validates it against want. A missing
// file is ErrNotExist; anything wrong with its content is an exit-2 error
// naming the file and the problem.
func Read(dir string, a Artifact, want Expect) error {
	path := Path(dir, want.Kind)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%s: %w", path, ErrNotExist)
	}
	if err != nil {
		return exitcode.Usagef("read artifact %s: %v", path, err)
	}
	// The header first, so a wrong schema is reported as such rather than
	// as whatever field changed shape.
	var h Header
	if err := json.Unmarshal(data, &h); err != nil {
		return exitcode.Usagef("artifact %s: malformed JSON: %v", path, err)
	}
	switch {
	case h.Schema != SchemaVersion:
		return exitcode.Usagef("artifact %s: schema version %d, this stagehand reads version %d", path, h.Schema, SchemaVersion)
	case h.Kind != want.Kind:
		return exitcode.Usagef("artifact %s: kind %q, expected %q", path, h.Kind, want.Kind)
	case h.Env != want.Env:
		return exitcode.Usagef("artifact %s: belongs to environment %q, not %q", path, h.Env, want.Env)
	case want.Account != "" && h.Account != want.Account:
		return exitcode.Usagef("artifact %s: belongs to account %s, not the environment's account %s", path, h.Account, want.Account)
	case want.Region != "" && h.Region != want.Region:
		return exitcode.Usagef("artifact %s: belongs to region %s, not the environment's region %s", path, h.Region, want.Region)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(a); err != nil {
		return exitcode.Usagef("artifact %s: %v", path, err)
	}
	return nil
}

// Remove deletes dir/KIND.json; an absent file is not an error.
func Remove(dir, kind string) error {
	if err := os.Remove(Path(dir, kind)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove artifact: %w", err)
	}
	return nil
}

// Save stamps a with h and writes it like Write. When it replaces an
// artifact of the same kind and environment, the creation time of that one
// is kept: created_at is when the resources were first made.
func Save(dir string, a Artifact, h Header) error {
	if data, err := os.ReadFile(Path(dir, h.Kind)); err == nil {
		var prev Header
		if json.Unmarshal(data, &prev) == nil && prev.Kind == h.Kind && prev.Env == h.Env && prev.Account == h.Account {
			h.CreatedAt = prev.CreatedAt
		}
	}
	*a.header() = h
	return Write(dir, a)
}
