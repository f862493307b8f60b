package jenkinsenv

import (
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/stagehand/stagehand/shared/environment"
	"github.com/stagehand/stagehand/shared/tags"
)

// The Jenkins container.
const (
	containerName = "jenkins"
	// ContainerPort is where Jenkins serves HTTP in the container.
	ContainerPort = 8080
	jenkinsHome   = "/var/jenkins_home"
	cascPath      = jenkinsHome + "/casc.yaml"
	homeVolume    = "jenkins-home"
	// Environment variables of the container.
	envAdminID       = "JENKINS_ADMIN_ID"
	envAdminPassword = "JENKINS_ADMIN_PASSWORD"
	envCasc          = "STAGEHAND_CASC_YAML"
	envPlugins       = "STAGEHAND_PLUGINS"
)

// startScript is the container's command: it writes the configuration as
// code from the environment, installs the plugins (when any are listed) and
// hands over to the image's own start script, under the image's tini. The
// admin password never passes through it: JCasC reads it from the
// environment variable ECS fills from the secret.
const startScript = `set -eu
printf '%s\n' "$` + envCasc + `" > "$CASC_JENKINS_CONFIG"
if [ -n "${` + envPlugins + `:-}" ]; then
  jenkins-plugin-cli --plugins ${` + envPlugins + `}
fi
exec /usr/local/bin/jenkins.sh`

// CascYAML is the Jenkins configuration as code the container starts with:
// the admin user from the environment (its password from the secret), no
// sign-up, no anonymous access, and Jenkins' own URL.
func CascYAML(env, url string) string {
	return fmt.Sprintf(`jenkins:
  systemMessage: "stagehand environment %s: configured as code by provision-jenkins; changes made in the UI do not survive a restart"
  securityRealm:
    local:
      allowsSignup: false
      users:
        - id: "${%s}"
          password: "${%s}"
  authorizationStrategy:
    loggedInUsersCanDoAnything:
      allowAnonymousRead: false
unclassified:
  location:
    url: "%s/"
`, env, envAdminID, envAdminPassword, strings.TrimRight(url, "/"))
}

// TaskSpec is what the Jenkins task definition is made from.
type TaskSpec struct {
	Env              *environment.Environment
	URL              string
	SecretARN        string
	LogGroup         string
	ExecutionRoleARN string
	// Fargate requires FARGATE compatibility; EC2 capacity runs on EC2.
	Fargate bool
	// Home is the persistent home; nil keeps JENKINS_HOME in the task.
	Home *Home
	Tags map[string]string
}

// Family is the task definition family of environment env's Jenkins.
func Family(env string) string { return env + "-jenkins" }

// TaskDefinition is the RegisterTaskDefinition input of Jenkins.
func TaskDefinition(s TaskSpec) *ecs.RegisterTaskDefinitionInput {
	j := s.Env.Jenkins
	env := []ecstypes.KeyValuePair{
		{Name: aws.String("JAVA_OPTS"), Value: aws.String("-Djenkins.install.runSetupWizard=false -XX:MaxRAMPercentage=75")},
		{Name: aws.String("CASC_JENKINS_CONFIG"), Value: aws.String(cascPath)},
		{Name: aws.String(envAdminID), Value: aws.String(j.AdminUser)},
		{Name: aws.String(envCasc), Value: aws.String(CascYAML(s.Env.Name, s.URL))},
	}
	if len(j.Plugins) > 0 {
		env = append(env,
			ecstypes.KeyValuePair{Name: aws.String(envPlugins), Value: aws.String(strings.Join(j.Plugins, " "))},
			// Plugins installed at start replace older copies in a persistent home.
			ecstypes.KeyValuePair{Name: aws.String("PLUGINS_FORCE_UPGRADE"), Value: aws.String("true")},
		)
	}
	c := ecstypes.ContainerDefinition{
		Name:       aws.String(containerName),
		Image:      aws.String(j.Image),
		Essential:  aws.Bool(true),
		EntryPoint: []string{"/usr/bin/tini", "--", "/bin/bash", "-c"},
		Command:    []string{startScript},
		PortMappings: []ecstypes.PortMapping{{
			ContainerPort: aws.Int32(ContainerPort), Protocol: ecstypes.TransportProtocolTcp,
		}},
		Environment: env,
		Secrets:     []ecstypes.Secret{{Name: aws.String(envAdminPassword), ValueFrom: aws.String(s.SecretARN)}},
		LogConfiguration: &ecstypes.LogConfiguration{
			LogDriver: ecstypes.LogDriverAwslogs,
			Options: map[string]string{
				"awslogs-group":         s.LogGroup,
				"awslogs-region":        s.Env.Region,
				"awslogs-stream-prefix": "jenkins",
			},
		},
		// Jenkins has many files open and many threads.
		Ulimits: []ecstypes.Ulimit{{Name: ecstypes.UlimitNameNofile, SoftLimit: 65536, HardLimit: 65536}},
	}
	in := &ecs.RegisterTaskDefinitionInput{
		Family:           aws.String(Family(s.Env.Name)),
		NetworkMode:      ecstypes.NetworkModeAwsvpc,
		Cpu:              aws.String(fmt.Sprint(j.CPU)),
		Memory:           aws.String(fmt.Sprint(j.Memory)),
		ExecutionRoleArn: aws.String(s.ExecutionRoleARN),
		Tags:             tags.ECS(s.Tags),
	}
	if s.Fargate {
		in.RequiresCompatibilities = []ecstypes.Compatibility{ecstypes.CompatibilityFargate}
	} else {
		in.RequiresCompatibilities = []ecstypes.Compatibility{ecstypes.CompatibilityEc2}
	}
	if s.Home != nil {
		in.Volumes = []ecstypes.Volume{{
			Name: aws.String(homeVolume),
			EfsVolumeConfiguration: &ecstypes.EFSVolumeConfiguration{
				FileSystemId:      aws.String(s.Home.FileSystemID),
				TransitEncryption: ecstypes.EFSTransitEncryptionEnabled,
				AuthorizationConfig: &ecstypes.EFSAuthorizationConfig{
					AccessPointId: aws.String(s.Home.AccessPointID),
				},
			},
		}}
		c.MountPoints = []ecstypes.MountPoint{{SourceVolume: aws.String(homeVolume), ContainerPath: aws.String(jenkinsHome)}}
	}
	in.ContainerDefinitions = []ecstypes.ContainerDefinition{c}
	return in
}
