package jenkinsenv

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/sirupsen/logrus"

	"github.com/stagehand/stagehand/shared/artifact"
	"github.com/stagehand/stagehand/shared/environment"
	"github.com/stagehand/stagehand/shared/exitcode"
	"github.com/stagehand/stagehand/shared/jenkins"
	"github.com/stagehand/stagehand/shared/parallel"
	"github.com/stagehand/stagehand/shared/step"
	"github.com/stagehand/stagehand/shared/tags"
	"github.com/stagehand/stagehand/shared/workload"
)

// Names and settings of the Jenkins resources.
const (
	// ServiceName is the ECS service of Jenkins in the environment's cluster.
	ServiceName = "jenkins"
	// HealthCheckPath answers 200 once Jenkins is up, to anyone: the login
	// page. While Jenkins starts it answers 503 and the target is
	// unhealthy; the service's grace period keeps ECS from replacing the
	// task meanwhile.
	HealthCheckPath = "/login"
	// HealthCheckGracePeriod covers installing the plugins and starting
	// Jenkins; after it an unhealthy task is replaced.
	HealthCheckGracePeriod = 600
	// DefaultStableWait bounds the wait for the service to become stable.
	DefaultStableWait = 20 * time.Minute
)

// Role tag values of the security groups.
const (
	roleLB   = "jenkins-lb"
	roleTask = "jenkins-task"
	roleEFS  = "jenkins-efs"
)

// LogGroupName is the log group of environment env's Jenkins.
func LogGroupName(env string) string { return workload.LogGroupPrefix(env) + "jenkins" }

// Provision makes the AWS side of the environment's Jenkins exist as the
// environment describes it and waits until its service is stable. It
// returns what jenkins.json records (without the header), with no jobs
// configured yet: see Configure.
func (b *Builder) Provision(ctx context.Context) (*artifact.Jenkins, error) {
	j := b.Env.Jenkins
	if j.ConfigureJenkins() && len(j.AllowedCIDRs) == 0 {
		return nil, exitcode.Usagef("%s: jenkins.allowed_cidrs is empty, so the load balancer would admit nobody, not even this step, which must reach Jenkins to configure its jobs: list the CIDR blocks that may reach Jenkins (including where the step runs), or set jenkins.configure to false", b.Env.Path)
	}
	env := b.Env.Name
	name := env + "-jenkins"
	out := &artifact.Jenkins{
		AdminUser: j.AdminUser, AdminSecretName: SecretName(env),
		ClusterName: b.ECS.ClusterName, ServiceName: ServiceName, TaskFamily: Family(env),
		LogGroupName: LogGroupName(env), Jobs: []string{},
	}
	w := b.Workload
	var home *Home
	err := parallel.All(ctx,
		func(ctx context.Context) (err error) {
			out.AdminSecretARN, err = b.EnsureAdminSecret(ctx)
			return err
		},
		func(ctx context.Context) error {
			_, err := w.EnsureLogGroup(ctx, out.LogGroupName, b.Env.LogRetentionDays, b.Tags.Map(out.LogGroupName))
			return err
		},
		func(ctx context.Context) (err error) {
			home, err = b.ensureNetwork(ctx, name, out)
			return err
		})
	if err != nil {
		return nil, err
	}
	out.URL = j.URL
	if out.URL == "" {
		out.URL = workload.Scheme(j.CertificateARN) + "://" + out.LoadBalancerDNSName
	}
	out.URL = strings.TrimRight(out.URL, "/")

	td := TaskDefinition(TaskSpec{
		Env: b.Env, URL: out.URL, SecretARN: out.AdminSecretARN, LogGroup: out.LogGroupName,
		ExecutionRoleARN: b.ECS.ExecutionRoleARN, Fargate: b.ECS.Capacity == environment.CapacityFargate,
		Home: home, Tags: b.Tags.Map(out.TaskFamily),
	})
	if out.TaskDefinitionARN, _, err = w.EnsureTaskDefinition(ctx, td); err != nil {
		return nil, err
	}
	rollout, err := w.EnsureService(ctx, b.serviceSpec(out))
	if err != nil {
		return nil, err
	}
	out.ServiceARN = rollout.ARN
	if err := w.WaitLoadBalancerActive(ctx, out.LoadBalancerARN, b.Wait); err != nil {
		return nil, err
	}
	o := b.Wait
	if o.Max == 0 {
		o.Max = DefaultStableWait
	}
	if err := w.WaitStable(ctx, b.ECS.ClusterName, []workload.Rollout{rollout}, o); err != nil {
		return nil, err
	}
	return out, nil
}

// ensureNetwork makes the security groups, then side by side the load
// balancer (with target group and listener) and, with a persistent home,
// the EFS home; it records their ids in out.
func (b *Builder) ensureNetwork(ctx context.Context, name string, out *artifact.Jenkins) (*Home, error) {
	w, env, j := b.Workload, b.Env.Name, b.Env.Jenkins
	lbSG := name + "-lb"
	var err error
	out.LoadBalancerSecurityGroupID, err = w.EnsureSecurityGroup(ctx, b.VPC.VPCID, lbSG,
		"stagehand "+env+": Jenkins load balancer, reachable from jenkins.allowed_cidrs",
		workload.ListenerIngress(j.AllowedCIDRs, j.CertificateARN, "jenkins.allowed_cidrs"), b.Tags.Map(lbSG, tags.Role, roleLB))
	if err != nil {
		return nil, err
	}
	taskSG := name + "-task"
	out.TaskSecurityGroupID, err = w.EnsureSecurityGroup(ctx, b.VPC.VPCID, taskSG,
		"stagehand "+env+": Jenkins tasks, reachable from the Jenkins load balancer only",
		[]workload.IngressRule{{SourceGroup: out.LoadBalancerSecurityGroupID, FromPort: ContainerPort, Description: "Jenkins load balancer"}},
		b.Tags.Map(taskSG, tags.Role, roleTask))
	if err != nil {
		return nil, err
	}
	var home *Home
	err = parallel.All(ctx,
		func(ctx context.Context) error { return b.ensureLoadBalancer(ctx, name, out) },
		func(ctx context.Context) (err error) {
			if !j.PersistentHome {
				return nil
			}
			efsSG := name + "-efs"
			out.FileSystemSecurityGroupID, err = w.EnsureSecurityGroup(ctx, b.VPC.VPCID, efsSG,
				"stagehand "+env+": Jenkins home on EFS, reachable from the Jenkins tasks only",
				[]workload.IngressRule{{SourceGroup: out.TaskSecurityGroupID, FromPort: 2049, Description: "Jenkins tasks (NFS)"}},
				b.Tags.Map(efsSG, tags.Role, roleEFS))
			if err != nil {
				return err
			}
			if home, err = b.EnsureHome(ctx, b.ECS.SubnetIDs, out.FileSystemSecurityGroupID); err != nil {
				return err
			}
			out.FileSystemID, out.AccessPointID, out.MountTargetIDs = home.FileSystemID, home.AccessPointID, home.MountTargetIDs
			return nil
		})
	return home, err
}

func (b *Builder) ensureLoadBalancer(ctx context.Context, name string, out *artifact.Jenkins) error {
	w := b.Workload
	err := parallel.All(ctx,
		func(ctx context.Context) (err error) {
			out.LoadBalancerARN, out.LoadBalancerDNSName, err = w.EnsureLoadBalancer(ctx, workload.LoadBalancerSpec{
				Name: name, Subnets: b.VPC.PublicSubnetIDs, SecurityGroups: []string{out.LoadBalancerSecurityGroupID},
				Tags: b.Tags.Map(name),
			})
			return err
		},
		func(ctx context.Context) (err error) {
			out.TargetGroupARN, err = w.EnsureTargetGroup(ctx, workload.TargetGroupSpec{
				Name: name, VPCID: b.VPC.VPCID, Port: ContainerPort,
				HealthCheckPath: HealthCheckPath, Matcher: "200",
				Tags: b.Tags.Map(name),
			})
			return err
		})
	if err != nil {
		return err
	}
	ls, err := w.EnsureListeners(ctx, workload.ListenersSpec{
		LoadBalancerARN: out.LoadBalancerARN, CertificateARN: b.Env.Jenkins.CertificateARN, DefaultTargetGroupARN: out.TargetGroupARN,
		HTTPTags:  b.Tags.Map(fmt.Sprintf("%s-http-%d", name, workload.HTTPPort)),
		HTTPSTags: b.Tags.Map(fmt.Sprintf("%s-https-%d", name, workload.HTTPSPort)),
	})
	out.ListenerARN = ls.ARN
	return err
}

func (b *Builder) serviceSpec(out *artifact.Jenkins) workload.ServiceSpec {
	spec := workload.ServiceSpec{
		Cluster: b.ECS.ClusterName, Name: ServiceName, TaskDefinition: out.TaskDefinitionARN, DesiredCount: 1,
		Subnets: b.ECS.SubnetIDs, SecurityGroups: []string{out.TaskSecurityGroupID},
		LoadBalancers: []ecstypes.LoadBalancer{{
			TargetGroupArn: aws.String(out.TargetGroupARN), ContainerName: aws.String(containerName), ContainerPort: aws.Int32(ContainerPort),
		}},
		HealthCheckGracePeriodSeconds: HealthCheckGracePeriod,
		Tags:                          b.Tags.Map(b.Env.Name + "-jenkins"),
		// One Jenkins at a time: two controllers must never share a home,
		// and a second one would only confuse the jobs. Stop, then start.
		MinimumHealthyPercent: aws.Int32(0),
		MaximumPercent:        aws.Int32(100),
	}
	for _, s := range b.ECS.DefaultStrategy {
		spec.CapacityProviderStrategy = append(spec.CapacityProviderStrategy, ecstypes.CapacityProviderStrategyItem{
			CapacityProvider: aws.String(s.CapacityProvider), Weight: s.Weight, Base: s.Base,
		})
	}
	if len(spec.CapacityProviderStrategy) == 0 {
		spec.LaunchType = ecstypes.LaunchTypeEc2
		if b.ECS.Capacity == environment.CapacityFargate {
			spec.LaunchType = ecstypes.LaunchTypeFargate
		}
	}
	return spec
}

// Configure waits until the Jenkins that Provision returned answers, then
// creates or updates each job of jenkins.jobs, reads it back, and records
// the jobs in out. When jenkins.configure is false it says plainly that it
// leaves Jenkins alone.
func (b *Builder) Configure(ctx context.Context, out *artifact.Jenkins) error {
	names, err := b.configure(ctx, out)
	if err != nil {
		return err
	}
	out.Configured, out.Jobs = b.Env.Jenkins.ConfigureJenkins(), names
	return nil
}

func (b *Builder) configure(ctx context.Context, out *artifact.Jenkins) ([]string, error) {
	j := b.Env.Jenkins
	if !j.ConfigureJenkins() {
		msg := fmt.Sprintf("jenkins.configure is false: Jenkins was not contacted, its %d jobs were not configured", len(j.Jobs))
		b.Log.WithField("url", out.URL).Warn(msg)
		b.Summary.Add(NotConfigured, KindJob, "-", msg)
		return []string{}, nil
	}
	c := &Configurer{URL: out.URL, Log: b.Log, Summary: b.Summary, DryRun: b.DryRun, Wait: b.ReadyWait}
	if b.DryRun && (out.AdminSecretARN == planned || out.ServiceARN == planned || strings.Contains(out.URL, planned)) {
		for _, job := range j.Jobs {
			b.Summary.Add(step.WouldCreate, KindJob, job.Name, job.Repository)
		}
		return jobNames(j.Jobs), nil
	}
	pw, err := b.AdminPassword(ctx, out.AdminSecretARN)
	if err != nil {
		return nil, err
	}
	c.Client, err = jenkins.New(jenkins.Config{URL: out.URL, User: j.AdminUser, Token: pw, Logger: b.Log.WithField("jenkins", out.URL)})
	if err != nil {
		return nil, fmt.Errorf("jenkins client for %s: %w", out.URL, err)
	}
	names, err := c.Ensure(ctx, j.Jobs)
	if err != nil {
		return nil, err
	}
	if !b.DryRun {
		b.Log.WithFields(logrus.Fields{"url": out.URL, "jobs": len(names)}).Info("jenkins configured")
	}
	return names, nil
}

func jobNames(jobs []environment.JenkinsJob) []string {
	names := make([]string, 0, len(jobs))
	for _, j := range jobs {
		names = append(names, j.Name)
	}
	return names
}
