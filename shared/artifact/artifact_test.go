package artifact

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stagehand/stagehand/shared/exitcode"
)

func header() Header {
	return Header{Kind: KindVPC, Env: "staging", Account: "123456789012", Region: "eu-west-1", RunID: "r1"}
}

var want = Expect{Kind: KindVPC, Env: "staging", Account: "123456789012", Region: "eu-west-1"}

func TestWriteRead(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "artifacts", "staging")
	a := &VPC{Header: header(), VPCID: "vpc-1", PublicSubnetIDs: []string{"s1", "s2"}}
	if err := Write(dir, a); err != nil {
		t.Fatal(err)
	}
	var b VPC
	if err := Read(dir, &b, want); err != nil {
		t.Fatal(err)
	}
	if b.VPCID != "vpc-1" || len(b.PublicSubnetIDs) != 2 || b.Schema != SchemaVersion || b.CreatedAt.IsZero() {
		t.Fatalf("round trip: %+v", b)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("temp files left behind: %v", entries)
	}
}

func TestReadMissing(t *testing.T) {
	var v VPC
	if err := Read(t.TempDir(), &v, want); !errors.Is(err, ErrNotExist) {
		t.Fatalf("got %v, want ErrNotExist", err)
	}
}

func TestReadInvalid(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    string
	}{
		{"malformed", `{"schema":1,`, "malformed JSON"},
		{"schema", `{"schema":2,"kind":"vpc","env":"staging","account":"123456789012","region":"eu-west-1"}`, "schema version 2"},
		{"kind", `{"schema":1,"kind":"ecs","env":"staging","account":"123456789012","region":"eu-west-1"}`, `kind "ecs"`},
		{"env", `{"schema":1,"kind":"vpc","env":"prod","account":"123456789012","region":"eu-west-1"}`, `environment "prod"`},
		{"account", `{"schema":1,"kind":"vpc","env":"staging","account":"999999999999","region":"eu-west-1"}`, "account 999999999999"},
		{"region", `{"schema":1,"kind":"vpc","env":"staging","account":"123456789012","region":"us-east-1"}`, "region us-east-1"},
		{"unknown field", `{"schema":1,"kind":"vpc","env":"staging","account":"123456789012","region":"eu-west-1","vpc":"x"}`, `unknown field "vpc"`},
		{"wrong type", `{"schema":1,"kind":"vpc","env":"staging","account":"123456789012","region":"eu-west-1","vpc_id":3}`, "vpc_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := Path(dir, KindVPC)
			if err := os.WriteFile(path, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			var v VPC
			err := Read(dir, &v, want)
			if exitcode.Of(err) != exitcode.Usage {
				t.Fatalf("exit code %d for %v, want %d", exitcode.Of(err), err, exitcode.Usage)
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q must name %s and say %q", err, path, tt.want)
			}
		})
	}
}

func TestWriteNeedsHeader(t *testing.T) {
	if err := Write(t.TempDir(), &VPC{}); err == nil {
		t.Fatal("an artifact without header was written")
	}
}

func TestRemove(t *testing.T) {
	dir := t.TempDir()
	if err := Write(dir, &VPC{Header: header()}); err != nil {
		t.Fatal(err)
	}
	if err := Remove(dir, KindVPC); err != nil {
		t.Fatal(err)
	}
	if err := Remove(dir, KindVPC); err != nil {
		t.Fatalf("removing an absent artifact: %v", err)
	}
}

func TestSaveKeepsCreationTime(t *testing.T) {
	dir := t.TempDir()
	first := &VPC{VPCID: "vpc-1"}
	if err := Save(dir, first, header()); err != nil {
		t.Fatal(err)
	}
	created := first.CreatedAt
	h := header()
	h.RunID = "r2"
	second := &VPC{VPCID: "vpc-1"}
	if err := Save(dir, second, h); err != nil {
		t.Fatal(err)
	}
	var got VPC
	if err := Read(dir, &got, want); err != nil {
		t.Fatal(err)
	}
	if !got.CreatedAt.Equal(created) || got.RunID != "r2" {
		t.Fatalf("created_at %v (want %v), run %q (want r2)", got.CreatedAt, created, got.RunID)
	}
	// Another environment's file does not lend its creation time.
	other := header()
	other.Env = "prod"
	if err := os.WriteFile(Path(dir, KindVPC), []byte(`{"schema":1,"kind":"vpc","env":"prod","account":"123456789012","created_at":"2001-01-01T00:00:00Z"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	third := &VPC{}
	if err := Save(dir, third, header()); err != nil {
		t.Fatal(err)
	}
	if third.CreatedAt.Year() == 2001 {
		t.Fatal("kept the creation time of another environment's artifact")
	}
}
