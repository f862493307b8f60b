package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stagehand/stagehand/shared/jenkinsfile"
)

// The lifecycle Jenkinsfiles are checked offline: recorded by the Groovy
// harness, then held to stagehand's rules and to the Makefile.

var (
	flagRE   = regexp.MustCompile(`--([a-z][a-z0-9-]*)`)
	targetRE = regexp.MustCompile(`(?m)^([a-z][a-z0-9 -]*):`)
	groupsRE = regexp.MustCompile(`(?m)^(STAGE_GROUPS|DESTROY_GROUPS)\s*:=\s*(.*)$`)
	cronRE   = regexp.MustCompile(`^H(\([0-9]+-[0-9]+\))? ([0-9]+|H) \* \* ([0-7])$`)
)

// makefile returns the Makefile's targets and its lifecycle groups.
func makefile(t *testing.T) (targets map[string]bool, groups map[string][][]string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(h.RepoRoot, "Makefile"))
	must(t, err)
	targets = map[string]bool{}
	for _, m := range targetRE.FindAllStringSubmatch(string(data), -1) {
		for _, name := range strings.Fields(m[1]) {
			targets[name] = true
		}
	}
	groups = map[string][][]string{}
	for _, m := range groupsRE.FindAllStringSubmatch(string(data), -1) {
		for _, g := range strings.Fields(m[2]) {
			groups[m[1]] = append(groups[m[1]], strings.Split(g, "+"))
		}
	}
	if len(groups["STAGE_GROUPS"]) == 0 || len(groups["DESTROY_GROUPS"]) == 0 {
		t.Fatal("Makefile declares no STAGE_GROUPS/DESTROY_GROUPS")
	}
	return targets, groups
}

// stepFlags maps every built step binary to the flags its --help lists.
func stepFlags(t *testing.T) map[string]map[string]bool {
	t.Helper()
	entries, err := os.ReadDir(h.BinDir)
	must(t, err)
	out := map[string]map[string]bool{}
	for _, e := range entries {
		help, err := exec.Command(filepath.Join(h.BinDir, e.Name()), "--help").Output()
		if err != nil {
			t.Fatalf("%s --help: %v", e.Name(), err)
		}
		flags := map[string]bool{}
		for _, m := range flagRE.FindAllStringSubmatch(string(help), -1) {
			flags[m[1]] = true
		}
		out[e.Name()] = flags
	}
	return out
}

func record(t *testing.T, path string) *jenkinsfile.Pipeline {
	t.Helper()
	p, err := jenkinsfile.Record(context.Background(), path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return p
}

// allSteps returns every step of the pipeline, stages depth first, then post.
func allSteps(p *jenkinsfile.Pipeline) []jenkinsfile.Step {
	var out []jenkinsfile.Step
	var walk func([]jenkinsfile.Stage)
	walk = func(ss []jenkinsfile.Stage) {
		for _, s := range ss {
			out = append(out, s.Steps...)
			walk(s.Parallel)
			walk(s.Stages)
		}
	}
	walk(p.Stages)
	for _, c := range jenkinsfile.PostConditions {
		out = append(out, p.Post[c]...)
	}
	return out
}

// checkJob holds one lifecycle job to stagehand's rules and returns the problems.
func checkJob(p *jenkinsfile.Pipeline, targets map[string]bool, flags map[string]map[string]bool) []string {
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	for _, name := range []string{"timestamps", "disableConcurrentBuilds", "timeout", "buildDiscarder"} {
		if _, ok := p.Option(name); !ok {
			add("options: no %s()", name)
		}
	}
	if lock, ok := p.Option("lock"); !ok || lock.Args["resource"] != "stagehand-staging" {
		add("options: no lock(resource: \"stagehand-${params.ENV}\") shared by every job of the environment")
	}
	archived := false
	for _, s := range p.Post["always"] {
		archived = archived || s.Name == "archiveArtifacts"
	}
	if !archived {
		add("post: no archiveArtifacts in always")
	}
	for _, c := range p.Triggers {
		if !cronRE.MatchString(c) {
			add("triggers: cron %q must spread its minute with H (e.g. 'H 22 * * 5')", c)
		}
	}
	for _, par := range p.Parameters {
		n := strings.ToUpper(par.Name)
		if par.Type == "password" || strings.Contains(n, "SECRET") || strings.Contains(n, "TOKEN") || strings.Contains(n, "AWS_") || strings.Contains(n, "PASSWORD") {
			add("parameters: %q looks like a credential; credentials come from Jenkins credentials or the agent's role", par.Name)
		}
	}
	for _, s := range allSteps(p) {
		if s.Name != "sh" {
			continue
		}
		words := strings.Fields(s.Script)
		switch {
		case len(words) == 2 && words[0] == "make":
			if !targets[words[1]] {
				add("sh %q: the Makefile has no target %s", s.Script, words[1])
			}
		case len(words) > 0 && strings.HasPrefix(words[0], "bin/"):
			bin := strings.TrimPrefix(words[0], "bin/")
			known, ok := flags[bin]
			if !ok {
				add("sh %q: %s is not a binary the Makefile builds", s.Script, bin)
				continue
			}
			for _, w := range words[1:] {
				if m := flagRE.FindStringSubmatch(w); m != nil && strings.HasPrefix(w, "--") && !known[m[1]] {
					add("sh %q: %s --help lists no --%s", s.Script, bin, m[1])
				}
			}
		default:
			add("sh %q: runs neither a step binary nor a make target", s.Script)
		}
	}
	return problems
}

func TestJenkinsfilesFollowTheRules(t *testing.T) {
	jenkinsfile.RequireGroovy(t)
	targets, _ := makefile(t)
	flags := stepFlags(t)
	files, err := filepath.Glob(filepath.Join(h.RepoRoot, "pipelines", "*.Jenkinsfile"))
	must(t, err)
	if len(files) != 4 {
		t.Fatalf("pipelines/ holds %d Jenkinsfiles, want the 4 lifecycle jobs", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			for _, p := range checkJob(record(t, f), targets, flags) {
				t.Error(p)
			}
		})
	}
	// The project's own CI pipeline parses and only runs make targets.
	root := record(t, filepath.Join(h.RepoRoot, "Jenkinsfile"))
	for _, s := range allSteps(root) {
		if s.Name == "sh" && !strings.HasPrefix(s.Script, "make ") && s.Script != ".ci/run" {
			t.Errorf("Jenkinsfile: sh %q", s.Script)
		}
	}
}

func TestBrokenJenkinsfileFailsTheCheck(t *testing.T) {
	jenkinsfile.RequireGroovy(t)
	targets, _ := makefile(t)
	problems := strings.Join(checkJob(record(t, filepath.Join("testdata", "broken.Jenkinsfile")), targets, stepFlags(t)), "\n")
	for _, want := range []string{"no disableConcurrentBuilds", "no timeout", "no lock", "no archiveArtifacts", "cron \"0 22 * * 5\"",
		"\"AWS_SECRET_ACCESS_KEY\" looks like a credential", "lists no --force", "destroy-everything is not a binary", "no target deploy"} {
		if !strings.Contains(problems, want) {
			t.Errorf("the check missed %q; it found:\n%s", want, problems)
		}
	}
	// And a file the harness rejects outright fails too.
	bad := filepath.Join(t.TempDir(), "bad.Jenkinsfile")
	must(t, os.WriteFile(bad, []byte("pipeline { agent any\n stages { stage('x') { steps { shh 'make build' } } } }\n"), 0o644))
	if _, err := jenkinsfile.Record(context.Background(), bad); err == nil {
		t.Fatal("an unknown step passed the harness")
	}
}

func TestCronSchedules(t *testing.T) {
	jenkinsfile.RequireGroovy(t)
	fri := record(t, filepath.Join(h.RepoRoot, "pipelines", "friday-destroy.Jenkinsfile"))
	mon := record(t, filepath.Join(h.RepoRoot, "pipelines", "monday-rebuild.Jenkinsfile"))
	check := func(name string, p *jenkinsfile.Pipeline, day string, minHour, maxHour int) {
		if len(p.Triggers) != 1 {
			t.Fatalf("%s: %d cron triggers, want 1", name, len(p.Triggers))
		}
		m := cronRE.FindStringSubmatch(p.Triggers[0])
		if m == nil || m[3] != day {
			t.Fatalf("%s: cron %q is not on day %s with H", name, p.Triggers[0], day)
		}
		var hour int
		if _, err := fmt.Sscan(m[2], &hour); err != nil || hour < minHour || hour > maxHour {
			t.Fatalf("%s: cron %q hour outside %d..%d", name, p.Triggers[0], minHour, maxHour)
		}
	}
	check("friday-destroy", fri, "5", 20, 23)
	check("monday-rebuild", mon, "1", 4, 9)
	for _, f := range []string{"stage", "destroy-stage"} {
		if p := record(t, filepath.Join(h.RepoRoot, "pipelines", f+".Jenkinsfile")); len(p.Triggers) != 0 {
			t.Errorf("%s has a timer trigger; only the Friday and Monday jobs run by the clock", f)
		}
	}
}

// stepGroups turns a recorded pipeline into the groups of step binaries it
// runs (see jobCommands); steps run only for their exit status are marked "?".
func stepGroups(p *jenkinsfile.Pipeline) [][]string {
	var groups [][]string
	for _, g := range jobCommands(p) {
		var names []string
		for _, c := range g {
			if c.statusOnly {
				names = append(names, c.bin+"?")
			} else {
				names = append(names, c.bin)
			}
		}
		groups = append(groups, names)
	}
	return groups
}

func sameGroups(a, b [][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := append([]string{}, a[i]...), append([]string{}, b[i]...)
		sort.Strings(x)
		sort.Strings(y)
		if strings.Join(x, "+") != strings.Join(y, "+") {
			return false
		}
	}
	return true
}

func TestMakefileAndPipelinesAgree(t *testing.T) {
	jenkinsfile.RequireGroovy(t)
	_, groups := makefile(t)
	stage, destroy := groups["STAGE_GROUPS"], groups["DESTROY_GROUPS"]
	dir := filepath.Join(h.RepoRoot, "pipelines")
	cases := []struct {
		file string
		want [][]string
	}{
		{"stage.Jenkinsfile", stage},
		{"destroy-stage.Jenkinsfile", destroy},
		{"friday-destroy.Jenkinsfile", destroy},
		// Monday: report leftovers, destroy them, prove the slate clean, create, then check by converging again.
		{"monday-rebuild.Jenkinsfile", append(append(append([][]string{{"verify-clean?"}}, destroy...), stage...), stage[len(stage)-1])},
	}
	for _, c := range cases {
		got := stepGroups(record(t, filepath.Join(dir, c.file)))
		if !sameGroups(got, c.want) {
			t.Errorf("%s runs %v, the Makefile says %v", c.file, got, c.want)
		}
	}
}
