package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
	"github.com/sirupsen/logrus"

	"github.com/stagehand/stagehand/shared/artifact"
	"github.com/stagehand/stagehand/shared/environment"
	"github.com/stagehand/stagehand/shared/resource"
	"github.com/stagehand/stagehand/shared/step"
	"github.com/stagehand/stagehand/shared/tags"
	"github.com/stagehand/stagehand/shared/wait"
	"github.com/stagehand/stagehand/shared/workload"
)

// callCounter counts the API requests made through a configuration, by
// service and operation (every attempt, retries included).
type callCounter struct {
	mu     sync.Mutex
	counts map[string]int
}

func (c *callCounter) reset() {
	c.mu.Lock()
	c.counts = map[string]int{}
	c.mu.Unlock()
}

// instrument returns cfg with a middleware that counts every request.
func (c *callCounter) instrument(cfg aws.Config) aws.Config {
	cfg = cfg.Copy()
	cfg.APIOptions = append(cfg.APIOptions, func(stack *middleware.Stack) error {
		return stack.Finalize.Add(middleware.FinalizeMiddlewareFunc("countCalls",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				c.mu.Lock()
				c.counts[awsmiddleware.GetServiceID(ctx)+" "+awsmiddleware.GetOperationName(ctx)]++
				c.mu.Unlock()
				return next.HandleFinalize(ctx, in)
			}), middleware.After)
	})
	return cfg
}

func (c *callCounter) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.counts {
		n += v
	}
	return n
}

func (c *callCounter) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	keys := make([]string, 0, len(c.counts))
	for k := range c.counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "    %5d  %s\n", c.counts[k], k)
	}
	return b.String()
}

// benchEnv is an environment of n services, every third one public.
func benchEnv(name, cidr string, n int) map[string]any {
	var svcs []map[string]any
	for i := 0; i < n; i++ {
		s := map[string]any{"name": fmt.Sprintf("svc%02d", i), "image": "public.ecr.aws/nginx/nginx:1.27", "cpu": 256, "memory": 512,
			"port": 8000 + i, "environment": map[string]string{"INDEX": fmt.Sprint(i)}}
		if i%3 == 0 {
			s["public"] = true
		}
		svcs = append(svcs, s)
	}
	return workloadEnv(cidr, svcs)
}

// BenchmarkContainers runs run-containers' and destroy-containers' logic
// in-process against the local endpoint, for 1 and for 30 services, and
// reports the wall time of each and the API requests by operation. The
// network and cluster are made once per size with the step binaries and
// are not measured.
//
//	go test ./e2e/ -run '^$' -bench BenchmarkContainers -benchtime 1x
func BenchmarkContainers(b *testing.B) {
	for _, n := range []int{1, 30} {
		b.Run(fmt.Sprintf("services=%d", n), func(b *testing.B) {
			h.Reset(b)
			w := h.NewWorkspace(b)
			const name = "bench"
			w.WriteEnv(b, name, benchEnv(name, "10.95.0.0/16", n))
			w.MustRun(b, 0, "create-vpc", "--env", name)
			w.MustRun(b, 0, "bootstrap-ecs", "--env", name)
			var vpc artifact.VPC
			w.ReadArtifact(b, name, artifact.KindVPC, &vpc)
			var cl artifact.ECS
			w.ReadArtifact(b, name, artifact.KindECS, &cl)
			raw, err := json.Marshal(benchEnv(name, "10.95.0.0/16", n))
			if err != nil {
				b.Fatal(err)
			}
			env, err := environment.Parse(raw)
			if err != nil {
				b.Fatal(err)
			}
			env.Name = name

			log := logrus.New()
			log.SetLevel(logrus.WarnLevel)
			var calls callCounter
			cfg := calls.instrument(h.AWS(b))
			ctx := context.Background()
			var runTime, destroyTime time.Duration
			var runCalls, destroyCalls int
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				calls.reset()
				start := time.Now()
				d := &workload.Deployment{
					B:   workload.NewBuilder(cfg, name, log, &step.Summary{}, false),
					Env: env, Tags: tags.Set{Env: name, Step: "run-containers", Run: fmt.Sprint("bench-", i)},
					VPC: &vpc, ECS: &cl, Wait: wait.Options{Max: 5 * time.Minute},
				}
				out, err := d.Run(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if len(out.Services) != n {
					b.Fatalf("%d services deployed, want %d", len(out.Services), n)
				}
				runTime += time.Since(start)
				runCalls += calls.total()
				// The full table goes to stdout: benchmark logs are cut at a few lines.
				fmt.Printf("run-containers, %d services: %s, %d requests\n%s", n, time.Since(start).Round(time.Millisecond), calls.total(), calls.String())

				calls.reset()
				start = time.Now()
				sum := &step.Summary{}
				scope := workload.NewScope(cfg, name, "run-containers", log)
				scope.Known = workload.Known{Cluster: cl.ClusterName}
				if err := resource.Teardown(ctx, log, workload.Kinds(scope), false, sum); err != nil {
					b.Fatal(err)
				}
				destroyTime += time.Since(start)
				destroyCalls += calls.total()
				fmt.Printf("destroy-containers, %d services: %s, %d requests, %d deleted\n%s", n, time.Since(start).Round(time.Millisecond), calls.total(), sum.Count(step.Deleted), calls.String())
			}
			b.StopTimer()
			b.ReportMetric(runTime.Seconds()/float64(b.N), "run-s/op")
			b.ReportMetric(destroyTime.Seconds()/float64(b.N), "destroy-s/op")
			b.ReportMetric(float64(runCalls)/float64(b.N), "run-calls/op")
			b.ReportMetric(float64(destroyCalls)/float64(b.N), "destroy-calls/op")
		})
	}
}
