// Package e2etest runs stagehand's step binaries the way a user does,
// against a local AWS-compatible endpoint (moto) that it starts on a free
// 127.0.0.1 port and stops at the end.
package e2etest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// Account is the account the local endpoint reports for any credentials.
const Account = "123456789012"

// Region of every test environment.
const Region = "us-east-1"

// Harness is one local endpoint and one build of the step binaries.
type Harness struct {
	Endpoint string
	BinDir   string
	RepoRoot string
	cmd      *exec.Cmd
	logPath  string
}

// Start builds every step into a temp dir and starts moto with extraEnv
// (e.g. MOTO_IAM_LOAD_MANAGED_POLICIES=true). Call Stop when done.
func Start(extraEnv ...string) (*Harness, error) {
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	bin, err := os.MkdirTemp("", "stagehand-e2e-bin-")
	if err != nil {
		return nil, err
	}
	build := exec.Command("go", "build", "-o", bin+string(os.PathSeparator), "./steps/...")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build steps: %v\n%s", err, out)
	}
	h := &Harness{BinDir: bin, RepoRoot: root}
	if err := h.startMoto(extraEnv); err != nil {
		return nil, err
	}
	return h, nil
}

func repoRoot() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", fmt.Errorf("cannot locate the repository")
	}
	return filepath.Abs(filepath.Join(filepath.Dir(file), "..", ".."))
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (h *Harness) startMoto(extraEnv []string) error {
	if err := exec.Command("python3", "-c", "import moto.server").Run(); err != nil {
		return fmt.Errorf("moto is not installed for python3 (pip install 'moto[server]'): %v", err)
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freePort()
		if err != nil {
			return err
		}
		logf, err := os.CreateTemp("", "moto-*.log")
		if err != nil {
			return err
		}
		cmd := exec.Command("python3", "-m", "moto.server", "-H", "127.0.0.1", "-p", fmt.Sprint(port))
		cmd.Env = append(cleanEnv(), extraEnv...)
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("start moto: %w", err)
		}
		h.cmd, h.logPath = cmd, logf.Name()
		h.Endpoint = fmt.Sprintf("http://127.0.0.1:%d", port)
		deadline := time.Now().Add(60 * time.Second)
		for time.Now().Before(deadline) {
			resp, err := http.Get(h.Endpoint + "/moto-api/")
			if err == nil {
				resp.Body.Close()
				return nil
			}
			lastErr = err
			if cmd.ProcessState != nil {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		h.Stop()
	}
	return fmt.Errorf("moto did not answer: %v", lastErr)
}

// Stop stops moto and removes the binaries.
func (h *Harness) Stop() {
	if h.cmd != nil && h.cmd.Process != nil {
		_ = syscall.Kill(-h.cmd.Process.Pid, syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = h.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-h.cmd.Process.Pid, syscall.SIGKILL)
		}
		h.cmd = nil
	}
}

// Cleanup removes the built binaries.
func (h *Harness) Cleanup() { os.RemoveAll(h.BinDir) }

// Reset wipes all of the endpoint's state.
func (h *Harness) Reset(t testing.TB) {
	t.Helper()
	resp, err := http.Post(h.Endpoint+"/moto-api/reset", "application/json", nil)
	if err != nil {
		t.Fatalf("reset endpoint: %v", err)
	}
	resp.Body.Close()
}

// AWS is an SDK configuration for the endpoint, for assertions.
func (h *Harness) AWS(t testing.TB) aws.Config {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background(),
		config.WithRegion(Region),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("test", "test", "")),
		config.WithBaseEndpoint(h.Endpoint),
	)
	if err != nil {
		t.Fatalf("aws config: %v", err)
	}
	return cfg
}

// Workspace is a folder with environments/ and artifacts/ for one test.
type Workspace struct {
	h    *Harness
	Dir  string
	Vars []string // extra environment variables for every step run
}

// NewWorkspace makes a temp workspace; environments are added with WriteEnv.
func (h *Harness) NewWorkspace(t testing.TB) *Workspace {
	t.Helper()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "environments"), 0o755); err != nil {
		t.Fatal(err)
	}
	return &Workspace{h: h, Dir: dir}
}

// WriteEnv writes environments/NAME.json from v (a map or struct, or raw JSON bytes/string).
func (w *Workspace) WriteEnv(t testing.TB, name string, v any) {
	t.Helper()
	var data []byte
	switch x := v.(type) {
	case []byte:
		data = x
	case string:
		data = []byte(x)
	default:
		var err error
		if data, err = json.MarshalIndent(v, "", "  "); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(w.Dir, "environments", name+".json"), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// Env returns a minimal valid environment for the local endpoint.
func Env(cidr string) map[string]any {
	return map[string]any{
		"account_id": Account,
		"region":     Region,
		"network":    map[string]any{"cidr": cidr, "az_count": 2, "nat": "single"},
	}
}

// ArtifactsDir is the default artifacts folder of environment env.
func (w *Workspace) ArtifactsDir(env string) string {
	return filepath.Join(w.Dir, "artifacts", env)
}

// ReadArtifact decodes artifacts/ENV/KIND.json into v.
func (w *Workspace) ReadArtifact(t testing.TB, env, kind string, v any) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(w.ArtifactsDir(env), kind+".json"))
	if err != nil {
		t.Fatalf("read artifact: %v", err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("decode artifact %s: %v", kind, err)
	}
}

// Result of one step run.
type Result struct {
	Code   int
	Stdout string
	Stderr string
}

// Run runs step bin in the workspace with args, like a user in a shell:
// credentials for the local endpoint, AWS_ENDPOINT_URL set, no terminal.
func (w *Workspace) Run(t testing.TB, bin string, args ...string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(w.h.BinDir, bin), args...)
	cmd.Dir = w.Dir
	cmd.Env = append(cleanEnv(),
		"AWS_ENDPOINT_URL="+w.h.Endpoint,
		"AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test",
		"AWS_EC2_METADATA_DISABLED=true",
		"STAGEHAND_LOG_FORMAT=json",
	)
	cmd.Env = append(cmd.Env, w.Vars...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("run %s: %v", bin, err)
		}
		code = ee.ExitCode()
	}
	r := Result{Code: code, Stdout: stdout.String(), Stderr: stderr.String()}
	t.Logf("$ %s %s -> exit %d", bin, strings.Join(args, " "), code)
	return r
}

// MustRun runs the step and fails the test unless it exits with want.
func (w *Workspace) MustRun(t testing.TB, want int, bin string, args ...string) Result {
	t.Helper()
	r := w.Run(t, bin, args...)
	if r.Code != want {
		t.Fatalf("%s %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", bin, strings.Join(args, " "), r.Code, want, r.Stdout, tail(r.Stderr, 4000))
	}
	return r
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// cleanEnv is the test process's environment without AWS and stagehand
// settings that would leak into the steps.
func cleanEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "AWS_") || strings.HasPrefix(kv, "STAGEHAND_") {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// Kill starts step bin with args and kills it (SIGKILL) after d, or lets it
// finish if it is faster, like an agent dying mid-run.
func (w *Workspace) Kill(t testing.TB, d time.Duration, bin string, args ...string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(w.h.BinDir, bin), args...)
	cmd.Dir = w.Dir
	cmd.Env = append(append(cleanEnv(),
		"AWS_ENDPOINT_URL="+w.h.Endpoint, "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test",
		"AWS_EC2_METADATA_DISABLED=true", "STAGEHAND_LOG_FORMAT=json"), w.Vars...)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	timer := time.AfterFunc(d, func() { _ = cmd.Process.Kill() })
	_ = cmd.Wait()
	timer.Stop()
	t.Logf("$ %s %s -> killed after %s (or finished)", bin, strings.Join(args, " "), d)
}
