package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stagehand/stagehand/shared/jenkinsfile"
)

func TestCronOf(t *testing.T) {
	for _, tc := range []struct {
		name, src, want, err string
	}{
		{name: "none", src: "pipeline { agent any\n stages { stage('a') { steps { echo 'x' } } } }", want: ""},
		{name: "single quotes", src: "pipeline {\n  triggers {\n    cron('H 22 * * 5')\n  }\n}", want: "H 22 * * 5"},
		{name: "double quotes", src: `pipeline { triggers { cron("H 6 * * 1") } }`, want: "H 6 * * 1"},
		{name: "named spec", src: `pipeline { triggers { cron(spec: 'H 6 * * 1') } }`, want: "H 6 * * 1"},
		{name: "without parentheses", src: `pipeline { triggers { cron 'H 6 * * 1' } }`, want: "H 6 * * 1"},
		{name: "alias", src: `pipeline { triggers { cron('@midnight') } }`, want: "@midnight"},
		{name: "other triggers ignored", src: `pipeline { triggers { pollSCM('H/5 * * * *'); upstream(upstreamProjects: 'x') } }`, want: ""},
		{name: "beside pollSCM", src: "pipeline { triggers {\n pollSCM('H/5 * * * *')\n cron('H 22 * * 5')\n } }", want: "H 22 * * 5"},
		{name: "two lines", src: "pipeline { triggers { cron('''H 22 * * 5\nH 6 * * 1''') } }", want: "H 22 * * 5\nH 6 * * 1"},
		{name: "escaped newline", src: `pipeline { triggers { cron('H 22 * * 5\nH 6 * * 1') } }`, want: "H 22 * * 5\nH 6 * * 1"},
		{name: "line comment", src: "pipeline {\n // triggers { cron('H 1 * * *') }\n triggers { cron('H 2 * * *') } }", want: "H 2 * * *"},
		{name: "block comment", src: "pipeline {\n /* triggers { cron('H 1 * * *') } */\n agent any }", want: ""},
		{name: "in a string", src: `pipeline { stages { stage('a') { steps { echo "triggers { cron('H 1 * * *') }" } } } }`, want: ""},
		{name: "cron elsewhere", src: `pipeline { stages { stage('a') { steps { echo 'x'; cron('H 1 * * *') } } } }`, want: ""},
		{name: "interpolated", src: `pipeline { triggers { cron("H ${env.HOUR} * * *") } }`, err: "only Jenkins"},
		{name: "escaped dollar", src: `pipeline { triggers { cron("H \$x * * *") } }`, want: "H $x * * *"},
		{name: "not a literal", src: `pipeline { triggers { cron(schedule) } }`, err: "not a string literal"},
		{name: "two crons", src: `pipeline { triggers { cron('H 1 * * *'); cron('H 2 * * *') } }`, err: "more than one"},
		{name: "two blocks", src: `pipeline { triggers { cron('H 1 * * *') } triggers { cron('H 2 * * *') } }`, err: "second triggers"},
		{name: "four fields", src: `pipeline { triggers { cron('H 22 * *') } }`, err: "wants 5"},
		{name: "empty", src: `pipeline { triggers { cron('') } }`, err: "empty"},
		{name: "unclosed block", src: `pipeline { triggers { cron('H 1 * * *') `, err: "not closed"},
		{name: "unclosed string", src: "pipeline { triggers { cron('H 1 * * *) } }", err: "not closed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := cronOf(tc.src)
			switch {
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("error %v, want one containing %q", err, tc.err)
			case tc.err == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case got != tc.want:
				t.Fatalf("cron %q, want %q", got, tc.want)
			}
		})
	}
}

// The Go reading of the cron agrees with what the groovy-based checker of
// shared/jenkinsfile records for the same files.
func TestCronOfAgreesWithRecord(t *testing.T) {
	jenkinsfile.RequireGroovy(t)
	files, _ := filepath.Glob("../../shared/jenkinsfile/testdata/good.Jenkinsfile")
	more, _ := filepath.Glob("../../pipelines/*.Jenkinsfile")
	files = append(files, more...)
	if len(files) == 0 {
		t.Fatal("no Jenkinsfiles to compare")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			got, err := cronOf(string(src))
			if err != nil {
				t.Fatal(err)
			}
			p, err := jenkinsfile.Record(context.Background(), f)
			if err != nil {
				t.Fatal(err)
			}
			want := ""
			if len(p.Triggers) > 0 {
				want = p.Triggers[0]
			}
			if got != want {
				t.Fatalf("cronOf %q, jenkinsfile.Record %q", got, want)
			}
		})
	}
}
