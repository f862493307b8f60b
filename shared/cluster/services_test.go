package cluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"
	"github.com/sirupsen/logrus"

	"github.com/stagehand/stagehand/shared/wait"
)

func quietLog() logrus.FieldLogger {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return l
}

func apiErr(code string) error { return &smithy.GenericAPIError{Code: code, Message: code} }

// fakeServices is one cluster's services. A deleted service turns INACTIVE
// after drainPolls describes.
type fakeServices struct {
	cluster     string
	missing     bool // the cluster does not exist
	services    map[string]*ecstypes.Service
	drainPolls  int
	polls       map[string]int
	calls       []string
	maxDescribe int
}

func newFakeServices(cluster string, drainPolls int, svcs ...ecstypes.Service) *fakeServices {
	f := &fakeServices{cluster: cluster, services: map[string]*ecstypes.Service{}, drainPolls: drainPolls, polls: map[string]int{}}
	for i := range svcs {
		s := svcs[i]
		s.ServiceArn = aws.String("arn:aws:ecs:us-east-1:123456789012:service/" + cluster + "/" + aws.ToString(s.ServiceName))
		f.services[aws.ToString(s.ServiceName)] = &s
	}
	return f
}

func (f *fakeServices) find(nameOrARN string) *ecstypes.Service {
	return f.services[shortName(nameOrARN)]
}

func (f *fakeServices) ListServices(_ context.Context, in *ecs.ListServicesInput, _ ...func(*ecs.Options)) (*ecs.ListServicesOutput, error) {
	if f.missing {
		return nil, apiErr("ClusterNotFoundException")
	}
	var arns []string
	for _, s := range f.services {
		if aws.ToString(s.Status) != serviceInactive {
			arns = append(arns, aws.ToString(s.ServiceArn))
		}
	}
	sort.Strings(arns)
	return &ecs.ListServicesOutput{ServiceArns: arns}, nil
}

func (f *fakeServices) DescribeServices(_ context.Context, in *ecs.DescribeServicesInput, _ ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error) {
	if f.missing {
		return nil, apiErr("ClusterNotFoundException")
	}
	if len(in.Services) > 10 {
		return nil, apiErr("InvalidParameterException")
	}
	f.maxDescribe = max(f.maxDescribe, len(in.Services))
	out := &ecs.DescribeServicesOutput{}
	for _, n := range in.Services {
		s := f.find(n)
		if s == nil {
			out.Failures = append(out.Failures, ecstypes.Failure{Arn: aws.String(n), Reason: aws.String("MISSING")})
			continue
		}
		if aws.ToString(s.Status) == serviceDraining {
			f.polls[n]++
			if f.polls[n] > f.drainPolls {
				s.Status = aws.String(serviceInactive)
				s.RunningCount = 0
			}
		}
		out.Services = append(out.Services, *s)
	}
	return out, nil
}

func (f *fakeServices) UpdateService(_ context.Context, in *ecs.UpdateServiceInput, _ ...func(*ecs.Options)) (*ecs.UpdateServiceOutput, error) {
	f.calls = append(f.calls, "update "+shortName(aws.ToString(in.Service))+fmt.Sprintf(" %d", aws.ToInt32(in.DesiredCount)))
	s := f.find(aws.ToString(in.Service))
	if s == nil {
		return nil, apiErr("ServiceNotFoundException")
	}
	if aws.ToString(s.Status) != serviceActive {
		return nil, apiErr("ServiceNotActiveException")
	}
	s.DesiredCount = aws.ToInt32(in.DesiredCount)
	return &ecs.UpdateServiceOutput{Service: s}, nil
}

func (f *fakeServices) DeleteService(_ context.Context, in *ecs.DeleteServiceInput, _ ...func(*ecs.Options)) (*ecs.DeleteServiceOutput, error) {
	f.calls = append(f.calls, "delete "+shortName(aws.ToString(in.Service))+fmt.Sprintf(" force=%v", aws.ToBool(in.Force)))
	s := f.find(aws.ToString(in.Service))
	if s == nil {
		return nil, apiErr("ServiceNotFoundException")
	}
	if aws.ToString(s.Status) != serviceActive {
		return nil, apiErr("ServiceNotActiveException")
	}
	s.Status = aws.String(serviceDraining)
	return &ecs.DeleteServiceOutput{Service: s}, nil
}

func svc(name, status string, desired, running int32) ecstypes.Service {
	return ecstypes.Service{ServiceName: aws.String(name), Status: aws.String(status), DesiredCount: desired, RunningCount: running}
}

var fast = wait.Options{Interval: time.Millisecond, Beat: time.Hour, Max: 5 * time.Second}

func TestDeleteServices(t *testing.T) {
	tests := []struct {
		name        string
		fake        *fakeServices
		ask         []string
		wantDeleted []string
		wantCalls   []string
	}{
		{
			name:        "scales to 0, deletes with force, waits inactive",
			fake:        newFakeServices("c", 2, svc("api", serviceActive, 2, 2), svc("web", serviceActive, 0, 0)),
			ask:         []string{"api", "web"},
			wantDeleted: []string{"api", "web"},
			wantCalls:   []string{"update api 0", "delete api force=true", "delete web force=true"},
		},
		{
			name:        "ARNs as given",
			fake:        newFakeServices("c", 0, svc("api", serviceActive, 1, 1)),
			ask:         []string{"arn:aws:ecs:us-east-1:123456789012:service/c/api"},
			wantDeleted: []string{"arn:aws:ecs:us-east-1:123456789012:service/c/api"},
			wantCalls:   []string{"update api 0", "delete api force=true"},
		},
		{
			name:      "missing, inactive and draining count as already gone",
			fake:      newFakeServices("c", 1, svc("old", serviceInactive, 0, 0), svc("going", serviceDraining, 0, 1)),
			ask:       []string{"old", "going", "never"},
			wantCalls: nil,
		},
		{
			name: "missing cluster: everything already gone",
			fake: func() *fakeServices { f := newFakeServices("c", 0); f.missing = true; return f }(),
			ask:  []string{"api"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			deleted, err := DeleteServices(context.Background(), tt.fake, quietLog(), "c", tt.ask, fast)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(deleted, ",") != strings.Join(tt.wantDeleted, ",") {
				t.Errorf("deleted %v, want %v", deleted, tt.wantDeleted)
			}
			if strings.Join(tt.fake.calls, ";") != strings.Join(tt.wantCalls, ";") {
				t.Errorf("calls %v, want %v", tt.fake.calls, tt.wantCalls)
			}
			for _, s := range tt.fake.services {
				if st := aws.ToString(s.Status); st != serviceInactive {
					t.Errorf("service %s left %s", aws.ToString(s.ServiceName), st)
				}
			}
		})
	}
}

func TestDeleteServicesBatchesDescribes(t *testing.T) {
	var svcs []ecstypes.Service
	var names []string
	for i := 0; i < 23; i++ {
		n := fmt.Sprintf("s%02d", i)
		svcs = append(svcs, svc(n, serviceActive, 1, 1))
		names = append(names, n)
	}
	f := newFakeServices("c", 1, svcs...)
	deleted, err := DeleteServices(context.Background(), f, quietLog(), "c", names, fast)
	if err != nil {
		t.Fatal(err)
	}
	if len(deleted) != 23 || f.maxDescribe > 10 {
		t.Fatalf("deleted %d (want 23), largest describe %d (want <= 10)", len(deleted), f.maxDescribe)
	}
	arns, err := ListServices(context.Background(), f, "c")
	if err != nil || len(arns) != 0 {
		t.Fatalf("after delete: %v services listed, err %v", arns, err)
	}
}

func TestDeleteServicesTimesOut(t *testing.T) {
	f := newFakeServices("c", 1<<30, svc("stuck", serviceActive, 1, 1))
	_, err := DeleteServices(context.Background(), f, quietLog(), "c", []string{"stuck"}, wait.Options{Interval: time.Millisecond, Max: 50 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "stuck DRAINING") {
		t.Fatalf("want a timeout naming the draining service, got %v", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("timeout does not map to exit 4: %v", err)
	}
}
