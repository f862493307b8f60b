package environment

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// The manifest: the environment file's "services", run by run-containers.

// ReservedServiceNames cannot be used in the manifest: other steps run
// services of these names in the environment's cluster.
var ReservedServiceNames = map[string]string{"jenkins": "provision-jenkins"}

// MaxPublicServices is how many public services one load balancer listener
// routes to (its rule limit).
const MaxPublicServices = 100

// DefaultHealthCheckPath is what the load balancer asks a public service
// for when health_check_path is not set.
const DefaultHealthCheckPath = "/"

// Desired is the service's desired task count (default 1).
func (s Service) Desired() int {
	if s.DesiredCount == nil {
		return 1
	}
	return *s.DesiredCount
}

// HealthPath is the path the load balancer checks. Only public services
// are health-checked (by the load balancer); on others it is unused.
func (s Service) HealthPath() string {
	if s.HealthCheckPath == "" {
		return DefaultHealthCheckPath
	}
	return s.HealthCheckPath
}

// memoryRange is the memory (MiB) one cpu value (CPU units) takes: From to
// To in steps of Step. These are the task sizes Fargate accepts; EC2
// capacity is held to them too, so a manifest runs on either.
type memoryRange struct{ From, To, Step int }

var taskSizes = map[int]memoryRange{
	256:   {512, 2048, 0}, // 512, 1024 or 2048
	512:   {1024, 4096, 1024},
	1024:  {2048, 8192, 1024},
	2048:  {4096, 16384, 1024},
	4096:  {8192, 30720, 1024},
	8192:  {16384, 61440, 4096},
	16384: {32768, 122880, 8192},
}

func (r memoryRange) valid(m int) bool {
	if r.Step == 0 {
		return m == 512 || m == 1024 || m == 2048
	}
	return m >= r.From && m <= r.To && (m-r.From)%r.Step == 0
}

func (r memoryRange) String() string {
	if r.Step == 0 {
		return "512, 1024 or 2048"
	}
	return fmt.Sprintf("%d to %d in steps of %d", r.From, r.To, r.Step)
}

var (
	serviceNameRE = regexp.MustCompile(`^[a-z]([a-z0-9-]{0,30}[a-z0-9])?$`)
	envVarRE      = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	// secretARNRE: a Secrets Manager secret (optionally with
	// :json-key:version-stage:version-id) or an SSM parameter.
	secretARNRE = regexp.MustCompile(`^arn:(aws|aws-cn|aws-us-gov):(secretsmanager|ssm):([a-z0-9-]+):([0-9]{12}):(secret:[A-Za-z0-9/_+=.@-]+(:[^:]*){0,3}|parameter/[A-Za-z0-9/_.-]+)$`)
)

// validateManifest checks the services of the manifest. Every error names
// the service (index and name) and the field.
func validateManifest(services []Service, account, region string) error {
	seen := map[string]int{}
	public := 0
	for i, s := range services {
		where := fmt.Sprintf("services[%d]", i)
		if s.Name != "" {
			where += fmt.Sprintf(" %q", s.Name)
		}
		fail := func(field, format string, args ...any) error {
			return fmt.Errorf("%s: field %q: %s", where, field, fmt.Sprintf(format, args...))
		}
		switch {
		case s.Name == "":
			return fail("name", "missing")
		case !serviceNameRE.MatchString(s.Name):
			return fail("name", "%q is not 1-32 characters of a-z, 0-9 and '-', starting with a letter and not ending with '-'", s.Name)
		case ReservedServiceNames[s.Name] != "":
			return fail("name", "%q is reserved: %s runs a service of that name in the environment's cluster", s.Name, ReservedServiceNames[s.Name])
		}
		if j, dup := seen[s.Name]; dup {
			return fail("name", "%q appears twice (also services[%d])", s.Name, j)
		}
		seen[s.Name] = i
		switch {
		case s.Image == "":
			return fail("image", "missing (e.g. \"nginx:1.27\" or an ECR image URI)")
		case strings.ContainsAny(s.Image, " \t\n"):
			return fail("image", "%q contains white space", s.Image)
		}
		if err := validateSize(s, fail); err != nil {
			return err
		}
		switch {
		case s.Port < 0 || s.Port > 65535:
			return fail("port", "%d is outside 1..65535", s.Port)
		case s.Public && s.Port == 0:
			return fail("port", "missing: a public service needs the port its container listens on")
		case s.DesiredCount != nil && *s.DesiredCount < 0:
			return fail("desired_count", "%d is negative", *s.DesiredCount)
		case s.HealthCheckPath != "" && (!strings.HasPrefix(s.HealthCheckPath, "/") || strings.ContainsAny(s.HealthCheckPath, " \t\n?#")):
			return fail("health_check_path", "%q is not a path starting with '/'", s.HealthCheckPath)
		}
		if s.Public {
			public++
		}
		for _, k := range sortedKeys(s.Environment) {
			if !envVarRE.MatchString(k) {
				return fail("environment."+k, "%q is not an environment variable name (letters, digits, '_', not starting with a digit)", k)
			}
		}
		for _, k := range sortedKeys(s.Secrets) {
			if err := validateSecret(k, s.Secrets[k], s.Environment, account, region, fail); err != nil {
				return err
			}
		}
	}
	if public > MaxPublicServices {
		return fmt.Errorf("field \"services\": %d public services, one load balancer routes to at most %d", public, MaxPublicServices)
	}
	return nil
}

func validateSize(s Service, fail func(field, format string, args ...any) error) error {
	if s.CPU == 0 {
		return fail("cpu", "missing (CPU units: 256, 512, 1024, 2048, 4096, 8192 or 16384)")
	}
	r, ok := taskSizes[s.CPU]
	if !ok {
		return fail("cpu", "%d is not a task size (CPU units: 256, 512, 1024, 2048, 4096, 8192 or 16384)", s.CPU)
	}
	switch {
	case s.Memory == 0:
		return fail("memory", "missing (MiB; cpu %d takes %s)", s.CPU, r)
	case r.valid(s.Memory):
		return nil
	case s.Memory < r.From:
		return fail("memory", "%d is too small for cpu %d (cpu %d takes memory %s)", s.Memory, s.CPU, s.CPU, r)
	case s.Memory > r.To:
		return fail("memory", "%d is too large for cpu %d (cpu %d takes memory %s)", s.Memory, s.CPU, s.CPU, r)
	default:
		return fail("memory", "%d is not a size cpu %d takes (memory %s)", s.Memory, s.CPU, r)
	}
}

// validateSecret checks that the secret named key is the ARN of a Secrets
// Manager secret or SSM parameter in the environment's account and region.
// The value is never quoted unless it is such an ARN: a value pasted in by
// mistake must not end up in a log.
func validateSecret(key, value string, env map[string]string, account, region string, fail func(field, format string, args ...any) error) error {
	field := "secrets." + key
	if !envVarRE.MatchString(key) {
		return fail(field, "%q is not an environment variable name (letters, digits, '_', not starting with a digit)", key)
	}
	if _, dup := env[key]; dup {
		return fail(field, "%s is also in \"environment\": a variable comes from one or the other", key)
	}
	m := secretARNRE.FindStringSubmatch(value)
	if m == nil {
		return fail(field, "not the ARN of a Secrets Manager secret (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME) or an SSM parameter (arn:aws:ssm:REGION:ACCOUNT:parameter/NAME); the value is not shown, and a secret's value never belongs in the environment file")
	}
	if m[3] != region || m[4] != account {
		return fail(field, "%s is in account %s, region %s: secrets must be in the environment's account %s and region %s", value, m[4], m[3], account, region)
	}
	return nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
