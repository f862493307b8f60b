package tags

import (
	"testing"

	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

func TestSetMap(t *testing.T) {
	s := Set{Env: "staging", Step: "create-vpc", Run: "r1"}
	m := s.Map("staging-vpc", Role, "public")
	want := map[string]string{Env: "staging", Step: "create-vpc", Run: "r1", Name: "staging-vpc", Role: "public"}
	if len(m) != len(want) {
		t.Fatalf("got %v, want %v", m, want)
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("tag %s = %q, want %q", k, m[k], v)
		}
	}
}

func TestEC2RoundTrip(t *testing.T) {
	m := map[string]string{Env: "e", Name: "n"}
	spec := EC2Spec(ec2types.ResourceTypeVpc, m)
	if spec[0].ResourceType != ec2types.ResourceTypeVpc || len(spec[0].Tags) != 2 {
		t.Fatalf("bad spec %+v", spec)
	}
	back := FromEC2(spec[0].Tags)
	if back[Env] != "e" || back[Name] != "n" {
		t.Fatalf("round trip lost tags: %v", back)
	}
}

func TestEC2Filters(t *testing.T) {
	f := EC2Filters("staging", Role, "private")
	if len(f) != 2 || *f[0].Name != "tag:stagehand:env" || f[0].Values[0] != "staging" || *f[1].Name != "tag:stagehand:role" {
		t.Fatalf("unexpected filters %+v", f)
	}
}
