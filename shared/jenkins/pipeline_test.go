package jenkins_test

import (
	"bytes"
	"encoding/xml"
	"errors"
	"strings"
	"testing"

	"github.com/stagehand/stagehand/shared/jenkins"
)

// jenkinsSaved is a pipeline job as Jenkins 2.4xx saves it after a first run:
// XML 1.1, plugin versions, properties added by the Jenkinsfile, a control
// character that only XML 1.1 can carry.
const jenkinsSaved = `<?xml version='1.1' encoding='UTF-8'?>
<flow-definition plugin="workflow-job@1436.vfa_244484591f">
  <actions>
    <org.jenkinsci.plugins.pipeline.modeldefinition.actions.DeclarativeJobAction plugin="pipeline-model-definition@2.2214.vb_b_34b_2ea_9b_83"/>
    <org.jenkinsci.plugins.pipeline.modeldefinition.actions.DeclarativeJobPropertyTrackerAction plugin="pipeline-model-definition@2.2214.vb_b_34b_2ea_9b_83">
      <jobProperties>
        <string>jenkins.model.BuildDiscarderProperty</string>
      </jobProperties>
      <triggers>
        <string>hudson.triggers.TimerTrigger</string>
      </triggers>
      <parameters/>
      <options/>
    </org.jenkinsci.plugins.pipeline.modeldefinition.actions.DeclarativeJobPropertyTrackerAction>
  </actions>
  <description>Rebuild staging every Monday&#x1b;</description>
  <keepDependencies>false</keepDependencies>
  <properties>
    <jenkins.model.BuildDiscarderProperty>
      <strategy class="hudson.tasks.LogRotator">
        <daysToKeep>-1</daysToKeep>
        <numToKeep>30</numToKeep>
        <artifactDaysToKeep>-1</artifactDaysToKeep>
        <artifactNumToKeep>-1</artifactNumToKeep>
      </strategy>
    </jenkins.model.BuildDiscarderProperty>
    <org.jenkinsci.plugins.workflow.job.properties.DisableConcurrentBuildsJobProperty>
      <abortPrevious>false</abortPrevious>
    </org.jenkinsci.plugins.workflow.job.properties.DisableConcurrentBuildsJobProperty>
    <org.jenkinsci.plugins.workflow.job.properties.PipelineTriggersJobProperty>
      <triggers>
        <hudson.triggers.TimerTrigger>
          <spec>H 6 * * 1</spec>
        </hudson.triggers.TimerTrigger>
        <hudson.triggers.SCMTrigger>
          <spec>H/15 * * * *</spec>
          <ignorePostCommitHooks>false</ignorePostCommitHooks>
        </hudson.triggers.SCMTrigger>
      </triggers>
    </org.jenkinsci.plugins.workflow.job.properties.PipelineTriggersJobProperty>
  </properties>
  <definition class="org.jenkinsci.plugins.workflow.cps.CpsScmFlowDefinition" plugin="workflow-cps@3903.v48a_8836749e9">
    <scm class="hudson.plugins.git.GitSCM" plugin="git@5.5.2">
      <configVersion>2</configVersion>
      <userRemoteConfigs>
        <hudson.plugins.git.UserRemoteConfig>
          <url>https://git.example.com/platform/stagehand.git</url>
          <credentialsId>git-readonly</credentialsId>
        </hudson.plugins.git.UserRemoteConfig>
      </userRemoteConfigs>
      <branches>
        <hudson.plugins.git.BranchSpec>
          <name>*/main</name>
        </hudson.plugins.git.BranchSpec>
      </branches>
      <doGenerateSubmoduleConfigurations>false</doGenerateSubmoduleConfigurations>
      <submoduleCfg class="empty-list"/>
      <extensions/>
    </scm>
    <scriptPath>pipelines/create-stage.Jenkinsfile</scriptPath>
    <lightweight>true</lightweight>
  </definition>
  <triggers/>
  <disabled>false</disabled>
</flow-definition>
`

func TestParsePipelineJob(t *testing.T) {
	tests := []struct {
		name    string
		xml     string
		want    jenkins.PipelineJob
		wantErr error
	}{
		{
			name: "as saved by Jenkins (XML 1.1)",
			xml:  jenkinsSaved,
			want: jenkins.PipelineJob{
				Description:   "Rebuild staging every Monday\ufffd",
				RepoURL:       "https://git.example.com/platform/stagehand.git",
				Branch:        "*/main",
				ScriptPath:    "pipelines/create-stage.Jenkinsfile",
				CredentialsID: "git-readonly",
				Cron:          "H 6 * * 1",
			},
		},
		{
			name: "XML 1.0, double quotes, no trigger",
			xml: `<?xml version="1.0" encoding="UTF-8"?>
<flow-definition>
  <definition class="org.jenkinsci.plugins.workflow.cps.CpsScmFlowDefinition">
    <scm class="hudson.plugins.git.GitSCM">
      <userRemoteConfigs><hudson.plugins.git.UserRemoteConfig><url>git@h:r.git</url></hudson.plugins.git.UserRemoteConfig></userRemoteConfigs>
      <branches><hudson.plugins.git.BranchSpec><name>*/release</name></hudson.plugins.git.BranchSpec></branches>
    </scm>
    <scriptPath>Jenkinsfile</scriptPath>
  </definition>
</flow-definition>`,
			want: jenkins.PipelineJob{RepoURL: "git@h:r.git", Branch: "*/release", ScriptPath: "Jenkinsfile"},
		},
		{
			name: "XML 1.1 with double quotes, no prolog spaces",
			xml:  `<?xml version="1.1" encoding="UTF-8"?><flow-definition><description>x</description></flow-definition>`,
			want: jenkins.PipelineJob{Description: "x"},
		},
		{
			name: "no prolog",
			xml:  `<flow-definition><description> padded </description></flow-definition>`,
			want: jenkins.PipelineJob{Description: "padded"},
		},
		{
			name:    "freestyle job",
			xml:     `<?xml version='1.1' encoding='UTF-8'?><project><description>x</description></project>`,
			wantErr: jenkins.ErrNotPipeline,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := jenkins.ParsePipelineJob([]byte(tc.xml))
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("error %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestParsePipelineJobMalformed(t *testing.T) {
	for _, doc := range []string{"", "<flow-definition>", "<?xml version='1.1'?><flow-definition><a></b></flow-definition>"} {
		if _, err := jenkins.ParsePipelineJob([]byte(doc)); err == nil {
			t.Errorf("%q: no error", doc)
		}
	}
}

func TestConfigXMLRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		job  jenkins.PipelineJob
		want jenkins.PipelineJob // after a round trip
	}{
		{
			name: "everything",
			job: jenkins.PipelineJob{
				Description:   `Destroy staging <Friday> & "save" money`,
				RepoURL:       "https://git.example.com/platform/stagehand.git",
				Branch:        "*/main",
				ScriptPath:    "pipelines/destroy-stage.Jenkinsfile",
				CredentialsID: "git-readonly",
				Cron:          "H 22 * * 5",
			},
		},
		{
			name: "defaults",
			job:  jenkins.PipelineJob{RepoURL: " https://h/r.git ", Branch: "*/main"},
			want: jenkins.PipelineJob{RepoURL: "https://h/r.git", Branch: "*/main", ScriptPath: "Jenkinsfile"},
		},
		{
			name: "multi-line cron",
			job:  jenkins.PipelineJob{RepoURL: "r", Branch: "b", ScriptPath: "J", Cron: "H 22 * * 5\nH 3 * * 1"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.want == (jenkins.PipelineJob{}) {
				tc.want = tc.job
			}
			cfg, err := tc.job.ConfigXML()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(cfg, []byte(xml.Header)) {
				t.Errorf("no XML header: %s", cfg)
			}
			for _, s := range []string{
				"<flow-definition>",
				`<definition class="org.jenkinsci.plugins.workflow.cps.CpsScmFlowDefinition">`,
				`<scm class="hudson.plugins.git.GitSCM">`,
				"<org.jenkinsci.plugins.workflow.job.properties.DisableConcurrentBuildsJobProperty>",
			} {
				if !bytes.Contains(cfg, []byte(s)) {
					t.Errorf("config.xml lacks %s:\n%s", s, cfg)
				}
			}
			hasTimer := bytes.Contains(cfg, []byte("<hudson.triggers.TimerTrigger>"))
			if hasTimer != (tc.job.Cron != "") {
				t.Errorf("TimerTrigger present = %v with cron %q", hasTimer, tc.job.Cron)
			}
			got, err := jenkins.ParsePipelineJob(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("round trip:\n got %+v\nwant %+v", got, tc.want)
			}
			// Jenkins stores it as XML 1.1: still readable.
			v11 := bytes.Replace(cfg, []byte(`version="1.0"`), []byte(`version='1.1'`), 1)
			if got, err := jenkins.ParsePipelineJob(v11); err != nil || got != tc.want {
				t.Errorf("as XML 1.1: %+v, %v", got, err)
			}
		})
	}
}

func TestConfigXMLRequiresRepoAndBranch(t *testing.T) {
	for _, job := range []jenkins.PipelineJob{
		{Branch: "*/main"},
		{RepoURL: "https://h/r.git"},
		{RepoURL: "  ", Branch: "*/main"},
	} {
		if _, err := job.ConfigXML(); err == nil || !strings.Contains(err.Error(), "required") {
			t.Errorf("%+v: error %v", job, err)
		}
	}
}

func TestBranchSpec(t *testing.T) {
	for in, want := range map[string]string{
		"main":            "*/main",
		" main ":          "*/main",
		"feature/x":       "*/feature/x",
		"*/main":          "*/main",
		"refs/heads/main": "refs/heads/main",
		"release-*":       "release-*",
		":^(?!main).*":    ":^(?!main).*",
		"":                "",
	} {
		if got := jenkins.BranchSpec(in); got != want {
			t.Errorf("BranchSpec(%q) = %q, want %q", in, got, want)
		}
	}
}
