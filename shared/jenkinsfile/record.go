package jenkinsfile

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

//go:embed record.groovy
var recordGroovy []byte

// ErrNoGroovy means groovy is not on PATH.
var ErrNoGroovy = errors.New("groovy not found on PATH (apt-get install -y groovy)")

// CheckError is a Jenkinsfile that does not pass: a syntax error, an unknown section,
// directive or step, or a structure Jenkins would refuse. Problems are groovy's
// "path:line: message" lines.
type CheckError struct {
	Path     string
	Problems []string
}

func (e *CheckError) Error() string {
	return "check " + e.Path + ": " + strings.Join(e.Problems, "; ")
}

// Available tells whether groovy is on PATH.
func Available() bool {
	_, err := exec.LookPath("groovy")
	return err == nil
}

// RequireGroovy skips the test when groovy is not on PATH, or fails it when CI is true: CI
// installs groovy, so a missing one there is a broken build, not a reason to skip.
func RequireGroovy(tb testing.TB) {
	tb.Helper()
	if Available() {
		return
	}
	if ci, _ := strconv.ParseBool(os.Getenv("CI")); ci {
		tb.Fatalf("CI=%s and %v", os.Getenv("CI"), ErrNoGroovy)
	}
	tb.Skip(ErrNoGroovy)
}

// Record evaluates the Jenkinsfile at path with groovy and returns its record. A Jenkinsfile
// that does not pass gives a *CheckError; groovy missing gives ErrNoGroovy.
func Record(ctx context.Context, path string) (*Pipeline, error) {
	groovy, err := exec.LookPath("groovy")
	if err != nil {
		return nil, fmt.Errorf("record %s: %w", path, ErrNoGroovy)
	}
	// The harness is embedded, so Record works from any package's working directory.
	dir, err := os.MkdirTemp("", "jenkinsfile-")
	if err != nil {
		return nil, fmt.Errorf("record %s: %w", path, err)
	}
	defer os.RemoveAll(dir)
	script := filepath.Join(dir, "record.groovy")
	if err := os.WriteFile(script, recordGroovy, 0o600); err != nil {
		return nil, fmt.Errorf("record %s: write harness: %w", path, err)
	}

	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, groovy, script, path)
	cmd.Env = groovyEnv()
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("record %s: %w", path, ctx.Err())
		}
		var exit *exec.ExitError
		if errors.As(err, &exit) && exit.ExitCode() == 1 {
			return nil, &CheckError{Path: path, Problems: problems(path, stderr.String())}
		}
		return nil, fmt.Errorf("record %s: groovy: %w: %s", path, err, strings.TrimSpace(stderr.String()))
	}

	var p Pipeline
	dec := json.NewDecoder(&stdout)
	dec.DisallowUnknownFields() // the harness and these types change together
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("record %s: decode record: %w", path, err)
	}
	return &p, nil
}

// problems keeps the harness's "path:..." lines of stderr, dropping JVM warnings and
// whatever the Jenkinsfile printed.
func problems(path, stderr string) []string {
	var all, ours []string
	for _, line := range strings.Split(stderr, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		all = append(all, line)
		if strings.HasPrefix(line, path+":") {
			ours = append(ours, line)
		}
	}
	if len(ours) == 0 {
		return all
	}
	return ours
}

// groovyEnv is the environment groovy runs with. Debian's groovy defaults JAVA_HOME to
// /usr/lib/jvm/default-java, which exists only with default-jre; when JAVA_HOME is unset it is
// taken from the java on PATH. The JVM only lives a second or two, so the C1 compiler alone
// and the serial collector roughly halve its CPU time; the caller's JAVA_OPTS come after and win.
func groovyEnv() []string {
	env := os.Environ()
	if os.Getenv("JAVA_HOME") == "" {
		if java, err := exec.LookPath("java"); err == nil {
			if real, err := filepath.EvalSymlinks(java); err == nil {
				env = append(env, "JAVA_HOME="+filepath.Dir(filepath.Dir(real)))
			}
		}
	}
	opts := "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
	if own := os.Getenv("JAVA_OPTS"); own != "" {
		opts += " " + own
	}
	return append(env, "JAVA_OPTS="+opts)
}
