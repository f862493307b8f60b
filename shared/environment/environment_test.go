package environment

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stagehand/stagehand/shared/exitcode"
)

const minimal = `{"account_id":"123456789012","region":"eu-west-1","network":{"cidr":"10.40.0.0/16"}}`

func TestParseDefaults(t *testing.T) {
	e, err := Parse([]byte(minimal))
	if err != nil {
		t.Fatal(err)
	}
	if e.Network.AZCount != 2 || e.Network.NAT != NATSingle || e.ECS.Capacity != CapacityEC2 || *e.ECS.DesiredCapacity != 1 || e.LogRetentionDays != 14 {
		t.Fatalf("defaults not applied: %+v", e)
	}
	if !e.Jenkins.ConfigureJenkins() {
		t.Fatal("jenkins configuration must default to on")
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, body, want string
	}{
		{"unknown field", `{"account_id":"123456789012","region":"eu-west-1","network":{"cidr":"10.40.0.0/16"},"colour":1}`, `"colour"`},
		{"unknown nested field", `{"account_id":"123456789012","region":"eu-west-1","network":{"cidr":"10.40.0.0/16","nats":1}}`, `"nats"`},
		{"missing account", `{"region":"eu-west-1","network":{"cidr":"10.40.0.0/16"}}`, `"account_id"`},
		{"short account", `{"account_id":"1234","region":"eu-west-1","network":{"cidr":"10.40.0.0/16"}}`, `"account_id"`},
		{"bad region", `{"account_id":"123456789012","region":"mars","network":{"cidr":"10.40.0.0/16"}}`, `"region"`},
		{"malformed cidr", `{"account_id":"123456789012","region":"eu-west-1","network":{"cidr":"10.40.0.0/33"}}`, `"network.cidr"`},
		{"host bits", `{"account_id":"123456789012","region":"eu-west-1","network":{"cidr":"10.40.1.0/16"}}`, `host bits`},
		{"too small", `{"account_id":"123456789012","region":"eu-west-1","network":{"cidr":"10.40.0.0/26"}}`, `"network.cidr"`},
		{"missing cidr", `{"account_id":"123456789012","region":"eu-west-1"}`, `"network.cidr"`},
		{"bad nat", `{"account_id":"123456789012","region":"eu-west-1","network":{"cidr":"10.40.0.0/16","nat":"two"}}`, `"network.nat"`},
		{"bad az count", `{"account_id":"123456789012","region":"eu-west-1","network":{"cidr":"10.40.0.0/16","az_count":9}}`, `"network.az_count"`},
		{"wrong type", `{"account_id":123456789012,"region":"eu-west-1","network":{"cidr":"10.40.0.0/16"}}`, `"account_id"`},
		{"malformed json", `{"account_id":"123456789012",`, `malformed JSON`},
		{"trailing data", minimal + `{}`, `after the JSON object`},
		{"role in other account", `{"account_id":"123456789012","region":"eu-west-1","role_arn":"arn:aws:iam::999999999999:role/x","network":{"cidr":"10.40.0.0/16"}}`, `"role_arn"`},
		{"bad capacity", `{"account_id":"123456789012","region":"eu-west-1","network":{"cidr":"10.40.0.0/16"},"ecs":{"capacity":"lambda"}}`, `"ecs.capacity"`},
		{"sizes", `{"account_id":"123456789012","region":"eu-west-1","network":{"cidr":"10.40.0.0/16"},"ecs":{"min_size":3,"max_size":2}}`, `min_size`},
		{"bad retention", `{"account_id":"123456789012","region":"eu-west-1","log_retention_days":8,"network":{"cidr":"10.40.0.0/16"}}`, `"log_retention_days"`},
		{"bad endpoint", `{"account_id":"123456789012","region":"eu-west-1","endpoint":"localhost:5000","network":{"cidr":"10.40.0.0/16"}}`, `"endpoint"`},
		{"bad jenkins cidr", `{"account_id":"123456789012","region":"eu-west-1","network":{"cidr":"10.40.0.0/16"},"jenkins":{"allowed_cidrs":["everyone"]}}`, `"jenkins.allowed_cidrs[0]"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.body))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error mentioning %s", err, tt.want)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "staging.json"), []byte(minimal), 0o644); err != nil {
		t.Fatal(err)
	}
	e, err := Load(dir, "staging")
	if err != nil || e.Name != "staging" || e.Path != filepath.Join(dir, "staging.json") {
		t.Fatalf("Load: %+v, %v", e, err)
	}
	for _, name := range []string{"missing", "Bad_Name", "../etc/passwd"} {
		_, err := Load(dir, name)
		if exitcode.Of(err) != exitcode.Usage {
			t.Errorf("Load(%q): %v, want a usage error", name, err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "broken.json"), []byte(`{"x":1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Load(dir, "broken")
	if exitcode.Of(err) != exitcode.Usage || !strings.Contains(err.Error(), "broken.json") {
		t.Fatalf("broken file: %v, want a usage error naming the file", err)
	}
}

// The environment files shipped with the repository must load.
func TestShippedEnvironments(t *testing.T) {
	files, _ := filepath.Glob("../../environments/*.json")
	if len(files) == 0 {
		t.Fatal("no environment files found")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(data); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}
