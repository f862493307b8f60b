package environment

import (
	"encoding/json"
	"strings"
	"testing"
)

// envWith is a valid environment file whose "services" are services (JSON).
func envWith(services string) []byte {
	return []byte(`{"account_id": "123456789012", "region": "eu-west-1", "network": {"cidr": "10.40.0.0/16"}, "services": ` + services + `}`)
}

func TestManifestValid(t *testing.T) {
	e, err := Parse(envWith(`[
	  {"name": "api", "image": "nginx:1.27", "cpu": 256, "memory": 512, "port": 80, "public": true, "health_check_path": "/health",
	   "environment": {"MODE": "staging"},
	   "secrets": {"DB_PASSWORD": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf",
	               "TOKEN": "arn:aws:ssm:eu-west-1:123456789012:parameter/staging/token",
	               "DB_USER": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf:username::"}},
	  {"name": "worker", "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/worker@sha256:abc", "cpu": 1024, "memory": 8192, "desired_count": 0},
	  {"name": "big", "image": "x", "cpu": 16384, "memory": 122880}
	]`))
	if err != nil {
		t.Fatalf("valid manifest rejected: %v", err)
	}
	if got := e.Services[0].Desired(); got != 1 {
		t.Errorf("default desired count = %d, want 1", got)
	}
	if got := e.Services[1].Desired(); got != 0 {
		t.Errorf("desired count 0 became %d", got)
	}
	if got := e.Services[1].HealthPath(); got != "/" {
		t.Errorf("default health check path = %q", got)
	}
}

func TestManifestErrors(t *testing.T) {
	const secret = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf"
	svc := func(extra string) string {
		return `{"name": "api", "image": "nginx", "cpu": 256, "memory": 512` + extra + `}`
	}
	tests := []struct {
		name     string
		services string
		want     []string // substrings of the error
		notWant  string   // must not appear (a secret's value)
	}{
		{"no name", `[{"image": "nginx", "cpu": 256, "memory": 512}]`, []string{`services[0]: field "name": missing`}, ""},
		{"bad name", `[{"name": "Api_1", "image": "nginx", "cpu": 256, "memory": 512}]`, []string{`services[0] "Api_1": field "name"`, "a-z"}, ""},
		{"trailing hyphen", `[{"name": "api-", "image": "nginx", "cpu": 256, "memory": 512}]`, []string{`field "name"`}, ""},
		{"too long", `[{"name": "` + strings.Repeat("a", 33) + `", "image": "nginx", "cpu": 256, "memory": 512}]`, []string{`field "name"`, "1-32"}, ""},
		{"reserved", `[{"name": "jenkins", "image": "nginx", "cpu": 256, "memory": 512}]`, []string{`field "name"`, "reserved", "provision-jenkins"}, ""},
		{"duplicate", `[` + svc("") + `, {"name": "web", "image": "nginx", "cpu": 256, "memory": 512}, ` + svc("") + `]`, []string{`services[2] "api": field "name"`, "twice", "services[0]"}, ""},
		{"no image", `[{"name": "api", "cpu": 256, "memory": 512}]`, []string{`services[0] "api": field "image": missing`}, ""},
		{"image with space", `[{"name": "api", "image": "nginx latest", "cpu": 256, "memory": 512}]`, []string{`field "image"`}, ""},
		{"no cpu", `[{"name": "api", "image": "nginx", "memory": 512}]`, []string{`field "cpu": missing`}, ""},
		{"odd cpu", `[{"name": "api", "image": "nginx", "cpu": 300, "memory": 512}]`, []string{`field "cpu": 300 is not a task size`}, ""},
		{"no memory", `[{"name": "api", "image": "nginx", "cpu": 1024}]`, []string{`field "memory": missing`, "2048 to 8192"}, ""},
		{"memory too small", `[{"name": "api", "image": "nginx", "cpu": 1024, "memory": 256}]`, []string{`services[0] "api": field "memory": 256 is too small for cpu 1024`, "2048 to 8192 in steps of 1024"}, ""},
		{"memory too large", `[{"name": "api", "image": "nginx", "cpu": 256, "memory": 4096}]`, []string{`field "memory": 4096 is too large for cpu 256`, "512, 1024 or 2048"}, ""},
		{"memory off step", `[{"name": "api", "image": "nginx", "cpu": 8192, "memory": 17408}]`, []string{`field "memory": 17408 is not a size cpu 8192 takes`}, ""},
		{"memory 1536 on 256", `[{"name": "api", "image": "nginx", "cpu": 256, "memory": 1536}]`, []string{`field "memory": 1536`}, ""},
		{"public without port", `[` + svc(`, "public": true`) + `]`, []string{`field "port": missing`, "public"}, ""},
		{"port out of range", `[` + svc(`, "port": 70000`) + `]`, []string{`field "port": 70000`}, ""},
		{"negative count", `[` + svc(`, "desired_count": -1`) + `]`, []string{`field "desired_count": -1 is negative`}, ""},
		{"health path relative", `[` + svc(`, "port": 80, "public": true, "health_check_path": "health"`) + `]`, []string{`field "health_check_path": "health"`}, ""},
		{"bad env name", `[` + svc(`, "environment": {"1X": "y"}`) + `]`, []string{`field "environment.1X"`}, ""},
		{"secret value instead of ARN", `[` + svc(`, "secrets": {"DB_PASSWORD": "hunter2"}`) + `]`, []string{`services[0] "api": field "secrets.DB_PASSWORD": not the ARN`}, "hunter2"},
		{"secret of other account", `[` + svc(`, "secrets": {"DB_PASSWORD": "arn:aws:secretsmanager:eu-west-1:999999999999:secret:db-AbCdEf"}`) + `]`, []string{`field "secrets.DB_PASSWORD"`, "account 999999999999", "123456789012"}, ""},
		{"secret of other region", `[` + svc(`, "secrets": {"TOKEN": "arn:aws:ssm:us-east-1:123456789012:parameter/token"}`) + `]`, []string{`field "secrets.TOKEN"`, "region us-east-1"}, ""},
		{"secret of another service", `[` + svc(`, "secrets": {"K": "arn:aws:s3:::bucket/key"}`) + `]`, []string{`field "secrets.K": not the ARN`}, ""},
		{"secret also in environment", `[` + svc(`, "environment": {"DB_PASSWORD": "x"}, "secrets": {"DB_PASSWORD": "`+secret+`"}`) + `]`, []string{`field "secrets.DB_PASSWORD"`, "also in"}, ""},
		{"bad secret name", `[` + svc(`, "secrets": {"db-password": "`+secret+`"}`) + `]`, []string{`field "secrets.db-password"`}, ""},
		{"second service named", `[` + svc("") + `, {"name": "web", "image": "nginx", "cpu": 512, "memory": 512}]`, []string{`services[1] "web": field "memory": 512 is too small for cpu 512`}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(envWith(tt.services))
			if err == nil {
				t.Fatalf("accepted, want an error containing %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if tt.notWant != "" && strings.Contains(err.Error(), tt.notWant) {
				t.Errorf("error %q shows %q", err, tt.notWant)
			}
		})
	}
}

func TestTooManyPublicServices(t *testing.T) {
	var svcs []map[string]any
	for i := 0; i <= MaxPublicServices; i++ {
		svcs = append(svcs, map[string]any{"name": "s" + strings.Repeat("x", i%5) + string(rune('a'+i%26)) + string(rune('a'+i/26)), "image": "nginx", "cpu": 256, "memory": 512, "port": 80, "public": true})
	}
	data, _ := json.Marshal(svcs)
	_, err := Parse(envWith(string(data)))
	if err == nil || !strings.Contains(err.Error(), "public services") {
		t.Fatalf("got %v, want an error about too many public services", err)
	}
}

func TestTaskSizes(t *testing.T) {
	for cpu, r := range taskSizes {
		if !r.valid(r.From) || !r.valid(r.To) || r.valid(r.From-1) || r.valid(r.To+1) {
			t.Errorf("cpu %d: range %v does not hold its ends", cpu, r)
		}
	}
}
