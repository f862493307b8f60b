package jenkinsenv

import (
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/stagehand/stagehand/shared/environment"
)

func testEnv(t *testing.T, jenkins string) *environment.Environment {
	t.Helper()
	e, err := environment.Parse([]byte(`{"account_id": "123456789012", "region": "eu-west-1", "network": {"cidr": "10.40.0.0/16"}, "jenkins": ` + jenkins + `}`))
	if err != nil {
		t.Fatal(err)
	}
	e.Name = "stg"
	return e
}

const secretARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:stagehand/stg/jenkins-admin-AbC"

func TestTaskDefinition(t *testing.T) {
	for _, tc := range []struct {
		name    string
		jenkins string
		fargate bool
		home    *Home
	}{
		{name: "defaults on ec2", jenkins: `{}`},
		{name: "fargate with persistent home", jenkins: `{"persistent_home": true, "cpu": 2048, "memory": 4096, "admin_user": "root"}`, fargate: true,
			home: &Home{FileSystemID: "fs-1", AccessPointID: "fsap-1"}},
		{name: "image brings its plugins", jenkins: `{"image": "registry.example.com/jenkins:7", "plugins": []}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := testEnv(t, tc.jenkins)
			in := TaskDefinition(TaskSpec{Env: env, URL: "http://lb.example.com/", SecretARN: secretARN, LogGroup: LogGroupName("stg"),
				ExecutionRoleARN: "arn:aws:iam::123456789012:role/stg-ecs-task-execution", Fargate: tc.fargate, Home: tc.home,
				Tags: map[string]string{"stagehand:env": "stg"}})
			if aws.ToString(in.Family) != "stg-jenkins" || in.NetworkMode != ecstypes.NetworkModeAwsvpc {
				t.Fatalf("family %s, network mode %s", aws.ToString(in.Family), in.NetworkMode)
			}
			if aws.ToString(in.Cpu) != itoa(env.Jenkins.CPU) || aws.ToString(in.Memory) != itoa(env.Jenkins.Memory) {
				t.Errorf("cpu %s memory %s", aws.ToString(in.Cpu), aws.ToString(in.Memory))
			}
			wantCompat := ecstypes.CompatibilityEc2
			if tc.fargate {
				wantCompat = ecstypes.CompatibilityFargate
			}
			if len(in.RequiresCompatibilities) != 1 || in.RequiresCompatibilities[0] != wantCompat {
				t.Errorf("compatibilities %v", in.RequiresCompatibilities)
			}
			c := in.ContainerDefinitions[0]
			if aws.ToString(c.Image) != env.Jenkins.Image {
				t.Errorf("image %s", aws.ToString(c.Image))
			}
			// The password comes from the secret, by reference only.
			if len(c.Secrets) != 1 || aws.ToString(c.Secrets[0].Name) != envAdminPassword || aws.ToString(c.Secrets[0].ValueFrom) != secretARN {
				t.Fatalf("secrets %+v", c.Secrets)
			}
			vars := map[string]string{}
			for _, kv := range c.Environment {
				vars[aws.ToString(kv.Name)] = aws.ToString(kv.Value)
			}
			if _, ok := vars[envAdminPassword]; ok {
				t.Fatal("the password is a plain environment variable")
			}
			if !strings.Contains(vars["JAVA_OPTS"], "-Djenkins.install.runSetupWizard=false") {
				t.Errorf("JAVA_OPTS %q does not skip the setup wizard", vars["JAVA_OPTS"])
			}
			if vars[envAdminID] != env.Jenkins.AdminUser || vars["CASC_JENKINS_CONFIG"] != cascPath {
				t.Errorf("admin id %q, casc %q", vars[envAdminID], vars["CASC_JENKINS_CONFIG"])
			}
			casc := vars[envCasc]
			for _, want := range []string{`id: "${JENKINS_ADMIN_ID}"`, `password: "${JENKINS_ADMIN_PASSWORD}"`, "allowsSignup: false", `url: "http://lb.example.com/"`} {
				if !strings.Contains(casc, want) {
					t.Errorf("configuration as code lacks %q:\n%s", want, casc)
				}
			}
			if got, want := vars[envPlugins], strings.Join(env.Jenkins.Plugins, " "); got != want {
				t.Errorf("plugins %q, want %q", got, want)
			}
			if len(env.Jenkins.Plugins) == 0 && strings.Contains(strings.Join(c.Command, " "), "jenkins-plugin-cli --plugins configuration") {
				t.Error("installs plugins although none are listed")
			}
			if len(c.PortMappings) != 1 || aws.ToInt32(c.PortMappings[0].ContainerPort) != ContainerPort {
				t.Errorf("port mappings %+v", c.PortMappings)
			}
			if lc := c.LogConfiguration; lc == nil || lc.Options["awslogs-group"] != "/stagehand/stg/jenkins" || lc.Options["awslogs-region"] != "eu-west-1" {
				t.Errorf("log configuration %+v", c.LogConfiguration)
			}
			if tc.home == nil {
				if len(in.Volumes) != 0 || len(c.MountPoints) != 0 {
					t.Fatalf("volumes %+v without a persistent home", in.Volumes)
				}
				return
			}
			v := in.Volumes[0].EfsVolumeConfiguration
			if v == nil || aws.ToString(v.FileSystemId) != "fs-1" || aws.ToString(v.AuthorizationConfig.AccessPointId) != "fsap-1" || v.TransitEncryption != ecstypes.EFSTransitEncryptionEnabled {
				t.Fatalf("efs volume %+v", v)
			}
			if len(c.MountPoints) != 1 || aws.ToString(c.MountPoints[0].ContainerPath) != "/var/jenkins_home" {
				t.Fatalf("mount points %+v", c.MountPoints)
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// The environment's Jenkins defaults, as the task definition gets them, and
// the fields the environment file refuses.
func TestJenkinsFieldDefaults(t *testing.T) {
	env := testEnv(t, `{}`)
	j := env.Jenkins
	if j.Image != "jenkins/jenkins:lts-jdk17" || j.CPU != 1024 || j.Memory != 2048 || j.AdminUser != "admin" || !j.ConfigureJenkins() ||
		strings.Join(j.Plugins, " ") != "configuration-as-code git workflow-aggregator timestamper lockable-resources" {
		t.Fatalf("defaults %+v", j)
	}
	for _, bad := range []string{
		`{"cpu": 128}`,
		`{"plugins": ["git; rm -rf /"]}`,
		`{"admin_user": "ad min"}`,
		`{"allowed_cidrs": ["everyone"]}`,
		`{"url": "jenkins.example.com"}`,
	} {
		_, err := environment.Parse([]byte(`{"account_id": "123456789012", "region": "eu-west-1", "network": {"cidr": "10.40.0.0/16"}, "jenkins": ` + bad + `}`))
		if err == nil || !strings.Contains(err.Error(), "jenkins") {
			t.Errorf("jenkins %s: error %v, want one naming the jenkins field", bad, err)
		}
	}
}
