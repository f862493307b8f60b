// Package environment loads and validates environments/NAME.json: the
// account, region and sizes of one stagehand environment.
package environment

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/stagehand/stagehand/shared/exitcode"
)

// Environment is one environment file. Field names are the JSON keys.
type Environment struct {
	// Name is the file's base name without .json; it is not in the file.
	Name string `json:"-"`
	// Path is the file the environment was read from.
	Path string `json:"-"`

	// AccountID is the 12-digit AWS account the environment lives in.
	AccountID string `json:"account_id"`
	// Region is the AWS region, e.g. eu-west-1.
	Region string `json:"region"`
	// RoleARN, when set, is assumed (from the caller's credentials) before any call.
	RoleARN string `json:"role_arn,omitempty"`
	// ExternalID is passed to AssumeRole when the role requires one.
	ExternalID string `json:"external_id,omitempty"`
	// Profile is the shared-config profile to start from (AWS_PROFILE wins).
	Profile string `json:"profile,omitempty"`
	// Endpoint is an AWS-compatible endpoint URL (AWS_ENDPOINT_URL wins).
	Endpoint string `json:"endpoint,omitempty"`
	// Protected environments cannot be destroyed by any step.
	Protected bool `json:"protected,omitempty"`
	// Description is free text for humans.
	Description string `json:"description,omitempty"`
	// LogRetentionDays is the retention of every log group the steps create.
	LogRetentionDays int `json:"log_retention_days,omitempty"`
	// PublicCertificateARN, when set, is the ACM certificate (in the
	// environment's account and region) of the services' public load
	// balancer: it then serves HTTPS on 443 and redirects HTTP to it.
	PublicCertificateARN string `json:"public_certificate_arn,omitempty"`

	Network  Network   `json:"network"`
	ECS      ECS       `json:"ecs"`
	Jenkins  Jenkins   `json:"jenkins"`
	Services []Service `json:"services,omitempty"`
}

// Network is read by create-vpc.
type Network struct {
	// CIDR of the VPC, e.g. 10.40.0.0/16 (prefix /16 to /24).
	CIDR string `json:"cidr"`
	// AZCount is the number of availability zones to spread over (default 2, at most 8).
	AZCount int `json:"az_count,omitempty"`
	// NAT is "single" (default), "per-az" or "none".
	NAT string `json:"nat,omitempty"`
}

// NAT modes.
const (
	NATSingle = "single"
	NATPerAZ  = "per-az"
	NATNone   = "none"
)

// ECS is read by bootstrap-ecs.
type ECS struct {
	// Capacity is "ec2" (default) or "fargate".
	Capacity string `json:"capacity,omitempty"`
	// InstanceType for ec2 capacity (default t3.medium).
	InstanceType string `json:"instance_type,omitempty"`
	// MinSize, MaxSize and DesiredCapacity of the auto scaling group (defaults 1, 2, 1).
	MinSize         *int `json:"min_size,omitempty"`
	MaxSize         *int `json:"max_size,omitempty"`
	DesiredCapacity *int `json:"desired_capacity,omitempty"`
	// AMIParameter is the public SSM parameter holding the ECS-optimized AMI id.
	AMIParameter string `json:"ami_ssm_parameter,omitempty"`
	// AMIID, when set, is used instead of the SSM lookup.
	AMIID string `json:"ami_id,omitempty"`
	// ContainerInsights turns CloudWatch Container Insights on for the cluster.
	ContainerInsights bool `json:"container_insights,omitempty"`
}

// Capacity modes.
const (
	CapacityEC2     = "ec2"
	CapacityFargate = "fargate"
)

// DefaultAMIParameter is the public SSM parameter of the current ECS-optimized
// Amazon Linux 2023 AMI.
const DefaultAMIParameter = "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended/image_id"

// Jenkins is read by provision-jenkins.
type Jenkins struct {
	// Image is the Jenkins container image (default jenkins/jenkins:lts-jdk17):
	// an official Jenkins image, or one built from it (it needs bash, tini,
	// jenkins.sh and, unless Plugins is empty, jenkins-plugin-cli).
	Image string `json:"image,omitempty"`
	// CPU units and Memory MiB of the Jenkins task (defaults 1024 and 2048).
	CPU    int `json:"cpu,omitempty"`
	Memory int `json:"memory,omitempty"`
	// Plugins are installed with jenkins-plugin-cli each time the container
	// starts (default DefaultJenkinsPlugins). An explicit empty list installs
	// nothing: the image must then bring configuration-as-code, git and
	// workflow-aggregator itself.
	Plugins []string `json:"plugins,omitempty"`
	// AllowedCIDRs may reach Jenkins' load balancer.
	AllowedCIDRs []string `json:"allowed_cidrs,omitempty"`
	// URL is where Jenkins answers when it sits behind the environment's own name.
	URL string `json:"url,omitempty"`
	// CertificateARN, when set, is the ACM certificate (in the environment's
	// account and region) of Jenkins' load balancer: it then serves HTTPS
	// on 443 and redirects HTTP to it.
	CertificateARN string `json:"certificate_arn,omitempty"`
	// Configure turns the HTTP configuration of jobs on (default true).
	Configure *bool `json:"configure,omitempty"`
	// PersistentHome keeps JENKINS_HOME on EFS.
	PersistentHome bool `json:"persistent_home,omitempty"`
	// AdminUser is the admin user's name (default admin); its password is generated.
	AdminUser string `json:"admin_user,omitempty"`
	// Jobs are created or updated on the environment's Jenkins.
	Jobs []JenkinsJob `json:"jobs,omitempty"`
}

// DefaultJenkinsImage is the image of jenkins.image when the environment sets none.
const DefaultJenkinsImage = "jenkins/jenkins:lts-jdk17"

// DefaultJenkinsPlugins are installed when the container starts unless
// jenkins.plugins says otherwise: configuration as code (the admin user and
// settings), pipelines from git, and what stagehand's Jenkinsfiles use.
var DefaultJenkinsPlugins = []string{"configuration-as-code", "git", "workflow-aggregator", "timestamper", "lockable-resources"}

var pluginRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*(:[A-Za-z0-9._-]+)?$`)

// JenkinsJob is a pipeline job taken from SCM.
type JenkinsJob struct {
	Name        string `json:"name"`
	Repository  string `json:"repository"`
	Branch      string `json:"branch,omitempty"`
	ScriptPath  string `json:"script_path,omitempty"`
	Cron        string `json:"cron,omitempty"`
	Description string `json:"description,omitempty"`
	// CredentialsID is the Jenkins credential used to check out the repository.
	CredentialsID string `json:"credentials_id,omitempty"`
}

// Service is one essential service of the manifest, read by run-containers.
type Service struct {
	Name            string            `json:"name"`
	Image           string            `json:"image"`
	CPU             int               `json:"cpu"`
	Memory          int               `json:"memory"`
	Port            int               `json:"port,omitempty"`
	DesiredCount    *int              `json:"desired_count,omitempty"`
	Environment     map[string]string `json:"environment,omitempty"`
	Secrets         map[string]string `json:"secrets,omitempty"`
	HealthCheckPath string            `json:"health_check_path,omitempty"`
	Public          bool              `json:"public,omitempty"`
}

var (
	nameRE    = regexp.MustCompile(`^[a-z][a-z0-9-]{0,19}$`)
	accountRE = regexp.MustCompile(`^[0-9]{12}$`)
	regionRE  = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]$`)
)

// Dir is the default folder of environment files.
const Dir = "environments"

// Load reads and validates the environment NAME from dir/NAME.json. Every
// problem is an exit-2 error naming the file and the field.
func Load(dir, name string) (*Environment, error) {
	if !nameRE.MatchString(name) {
		return nil, exitcode.Usagef("--env %q: an environment name is 1-20 characters of a-z, 0-9 and '-', starting with a letter", name)
	}
	path := filepath.Join(dir, name+".json")
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, exitcode.Usagef("environment %q: %s does not exist", name, path)
		}
		return nil, exitcode.Usagef("environment %q: %v", name, err)
	}
	e, err := Parse(data)
	if err != nil {
		return nil, exitcode.Usagef("%s: %v", path, err)
	}
	e.Name, e.Path = name, path
	return e, nil
}

// Parse decodes an environment file strictly (unknown fields are errors),
// applies defaults and validates it.
func Parse(data []byte) (*Environment, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var e Environment
	if err := dec.Decode(&e); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("malformed JSON at byte %d: %v", se.Offset, err)
		}
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("malformed JSON: the file ends before the object does")
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, fmt.Errorf("field %q: expected %s, got JSON %s", te.Field, te.Type, te.Value)
		}
		return nil, fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("unexpected data after the JSON object")
	}
	e.applyDefaults()
	if err := e.validate(); err != nil {
		return nil, err
	}
	return &e, nil
}

func (e *Environment) applyDefaults() {
	if e.LogRetentionDays == 0 {
		e.LogRetentionDays = 14
	}
	if e.Network.AZCount == 0 {
		e.Network.AZCount = 2
	}
	if e.Network.NAT == "" {
		e.Network.NAT = NATSingle
	}
	if e.ECS.Capacity == "" {
		e.ECS.Capacity = CapacityEC2
	}
	if e.ECS.InstanceType == "" {
		e.ECS.InstanceType = "t3.medium"
	}
	if e.ECS.AMIParameter == "" {
		e.ECS.AMIParameter = DefaultAMIParameter
	}
	setDefault := func(p **int, v int) {
		if *p == nil {
			*p = &v
		}
	}
	setDefault(&e.ECS.MinSize, 1)
	setDefault(&e.ECS.MaxSize, 2)
	setDefault(&e.ECS.DesiredCapacity, 1)
	if e.Jenkins.AdminUser == "" {
		e.Jenkins.AdminUser = "admin"
	}
	if e.Jenkins.Image == "" {
		e.Jenkins.Image = DefaultJenkinsImage
	}
	if e.Jenkins.CPU == 0 {
		e.Jenkins.CPU = 1024
	}
	if e.Jenkins.Memory == 0 {
		e.Jenkins.Memory = 2048
	}
	if e.Jenkins.Plugins == nil {
		e.Jenkins.Plugins = append([]string(nil), DefaultJenkinsPlugins...)
	}
	for i := range e.Jenkins.Jobs {
		if e.Jenkins.Jobs[i].Branch == "" {
			e.Jenkins.Jobs[i].Branch = "main"
		}
		if e.Jenkins.Jobs[i].ScriptPath == "" {
			e.Jenkins.Jobs[i].ScriptPath = "Jenkinsfile"
		}
	}
}

// validLogRetention are the values CloudWatch Logs accepts.
var validLogRetention = map[int]bool{1: true, 3: true, 5: true, 7: true, 14: true, 30: true, 60: true, 90: true, 120: true, 150: true, 180: true, 365: true, 400: true, 545: true, 731: true, 1096: true, 1827: true, 2192: true, 2557: true, 2922: true, 3288: true, 3653: true}

func (e *Environment) validate() error {
	switch {
	case e.AccountID == "":
		return fmt.Errorf("field \"account_id\": missing (the 12-digit AWS account of the environment)")
	case !accountRE.MatchString(e.AccountID):
		return fmt.Errorf("field \"account_id\": %q is not a 12-digit AWS account id", e.AccountID)
	case e.Region == "":
		return fmt.Errorf("field \"region\": missing")
	case !regionRE.MatchString(e.Region):
		return fmt.Errorf("field \"region\": %q is not an AWS region name", e.Region)
	case e.RoleARN != "" && !strings.HasPrefix(e.RoleARN, "arn:aws"):
		return fmt.Errorf("field \"role_arn\": %q is not an IAM role ARN", e.RoleARN)
	case e.RoleARN != "" && !strings.Contains(e.RoleARN, ":"+e.AccountID+":"):
		return fmt.Errorf("field \"role_arn\": %q is not in the environment's account %s", e.RoleARN, e.AccountID)
	case !validLogRetention[e.LogRetentionDays]:
		return fmt.Errorf("field \"log_retention_days\": %d is not a retention CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ...)", e.LogRetentionDays)
	}
	if e.Endpoint != "" {
		u, err := url.Parse(e.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("field \"endpoint\": %q is not an http(s) URL", e.Endpoint)
		}
	}
	if err := e.Network.validate(); err != nil {
		return err
	}
	if err := e.ECS.validate(); err != nil {
		return err
	}
	if err := e.Jenkins.validate(); err != nil {
		return err
	}
	if err := e.validateCertificates(); err != nil {
		return err
	}
	return validateServices(e)
}

// certificateARNRE is an ACM certificate: partition, region, account.
var certificateARNRE = regexp.MustCompile(`^arn:(aws|aws-cn|aws-us-gov):acm:([a-z0-9-]+):([0-9]{12}):certificate/[A-Za-z0-9-]+$`)

// validateCertificates checks public_certificate_arn and
// jenkins.certificate_arn: ACM certificates of the environment's account
// and region (a load balancer can use no other), and, for Jenkins, a URL
// the certificate can cover.
func (e *Environment) validateCertificates() error {
	for _, c := range []struct{ field, arn string }{
		{"public_certificate_arn", e.PublicCertificateARN},
		{"jenkins.certificate_arn", e.Jenkins.CertificateARN},
	} {
		if c.arn == "" {
			continue
		}
		m := certificateARNRE.FindStringSubmatch(c.arn)
		if m == nil {
			return fmt.Errorf("field %q: %q is not an ACM certificate ARN (arn:aws:acm:REGION:ACCOUNT:certificate/ID)", c.field, c.arn)
		}
		if m[2] != e.Region || m[3] != e.AccountID {
			return fmt.Errorf("field %q: %s is in account %s, region %s: a load balancer takes only a certificate of its own account %s and region %s", c.field, c.arn, m[3], m[2], e.AccountID, e.Region)
		}
	}
	j := &e.Jenkins
	if j.CertificateARN == "" {
		return nil
	}
	if u, err := url.Parse(j.URL); j.URL != "" && err == nil && u.Scheme == "http" {
		return fmt.Errorf("field \"jenkins.url\": %q is http://, but with jenkins.certificate_arn the load balancer answers HTTP with a redirect to HTTPS: use the https:// URL", j.URL)
	}
	if j.URL == "" && j.ConfigureJenkins() {
		return fmt.Errorf("field \"jenkins.url\": missing: with jenkins.certificate_arn, this step reaches Jenkins over HTTPS, and the certificate cannot cover the load balancer's own DNS name: point a name the certificate covers at the load balancer and give it as jenkins.url (https://NAME), or set jenkins.configure to false")
	}
	return nil
}

func (n *Network) validate() error {
	if n.CIDR == "" {
		return fmt.Errorf("field \"network.cidr\": missing (e.g. \"10.40.0.0/16\")")
	}
	p, err := netip.ParsePrefix(n.CIDR)
	if err != nil || !p.Addr().Is4() {
		return fmt.Errorf("field \"network.cidr\": %q is not an IPv4 CIDR block", n.CIDR)
	}
	if p.Masked() != p {
		return fmt.Errorf("field \"network.cidr\": %q has host bits set (did you mean %s?)", n.CIDR, p.Masked())
	}
	if p.Bits() < 16 || p.Bits() > 22 {
		return fmt.Errorf("field \"network.cidr\": prefix /%d is outside /16../22 (subnets are the block split in 16)", p.Bits())
	}
	if n.AZCount < 1 || n.AZCount > 8 {
		return fmt.Errorf("field \"network.az_count\": %d is outside 1..8", n.AZCount)
	}
	switch n.NAT {
	case NATSingle, NATPerAZ, NATNone:
	default:
		return fmt.Errorf("field \"network.nat\": %q is not one of single, per-az, none", n.NAT)
	}
	return nil
}

func (c *ECS) validate() error {
	switch c.Capacity {
	case CapacityEC2, CapacityFargate:
	default:
		return fmt.Errorf("field \"ecs.capacity\": %q is not one of ec2, fargate", c.Capacity)
	}
	if *c.MinSize < 0 || *c.MaxSize < *c.MinSize || *c.DesiredCapacity < *c.MinSize || *c.DesiredCapacity > *c.MaxSize {
		return fmt.Errorf("field \"ecs\": sizes must satisfy 0 <= min_size (%d) <= desired_capacity (%d) <= max_size (%d)", *c.MinSize, *c.DesiredCapacity, *c.MaxSize)
	}
	if c.AMIID != "" && !strings.HasPrefix(c.AMIID, "ami-") {
		return fmt.Errorf("field \"ecs.ami_id\": %q is not an AMI id", c.AMIID)
	}
	if !strings.HasPrefix(c.AMIParameter, "/") {
		return fmt.Errorf("field \"ecs.ami_ssm_parameter\": %q is not an SSM parameter name", c.AMIParameter)
	}
	return nil
}

func (j *Jenkins) validate() error {
	if j.CPU < 256 || j.Memory < 512 {
		return fmt.Errorf("field \"jenkins\": cpu %d and memory %d are too small for Jenkins (at least 256 CPU units and 512 MiB; defaults 1024 and 2048)", j.CPU, j.Memory)
	}
	if strings.TrimSpace(j.AdminUser) != j.AdminUser || strings.ContainsAny(j.AdminUser, " :\"'$\\") {
		return fmt.Errorf("field \"jenkins.admin_user\": %q is not a plain user name", j.AdminUser)
	}
	for i, p := range j.Plugins {
		if !pluginRE.MatchString(p) {
			return fmt.Errorf("field \"jenkins.plugins[%d]\": %q is not a plugin id (optionally :version)", i, p)
		}
	}
	for i, c := range j.AllowedCIDRs {
		if _, err := netip.ParsePrefix(c); err != nil {
			return fmt.Errorf("field \"jenkins.allowed_cidrs[%d]\": %q is not a CIDR block", i, c)
		}
	}
	if j.URL != "" {
		u, err := url.Parse(j.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("field \"jenkins.url\": %q is not an http(s) URL", j.URL)
		}
	}
	seen := map[string]bool{}
	for i, job := range j.Jobs {
		switch {
		case job.Name == "":
			return fmt.Errorf("field \"jenkins.jobs[%d].name\": missing", i)
		case seen[job.Name]:
			return fmt.Errorf("field \"jenkins.jobs[%d].name\": %q appears twice", i, job.Name)
		case job.Repository == "":
			return fmt.Errorf("field \"jenkins.jobs[%d].repository\": missing", i)
		}
		seen[job.Name] = true
	}
	return nil
}

// ConfigureJenkins reports whether provision-jenkins configures jobs over HTTP.
func (j *Jenkins) ConfigureJenkins() bool { return j.Configure == nil || *j.Configure }

func validateServices(e *Environment) error {
	// The manifest's rules live with the Service type; see services.go.
	return validateManifest(e.Services, e.AccountID, e.Region)
}
