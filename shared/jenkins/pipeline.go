package jenkins

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Class names of the pipeline-from-SCM job that ConfigXML writes.
const (
	cpsScmDefinition = "org.jenkinsci.plugins.workflow.cps.CpsScmFlowDefinition"
	gitSCMClass      = "hudson.plugins.git.GitSCM"
	defaultScript    = "Jenkinsfile"
)

// PipelineJob is a pipeline job whose Jenkinsfile comes from a git
// repository, optionally started by a timer.
type PipelineJob struct {
	Description string
	// RepoURL is the git repository; required.
	RepoURL string
	// Branch is a git plugin branch specifier, e.g. "*/main"; required.
	Branch string
	// ScriptPath is the Jenkinsfile's path in the repository; empty means
	// "Jenkinsfile", as in Jenkins.
	ScriptPath string
	// CredentialsID is the Jenkins credentials used to clone; empty for none.
	CredentialsID string
	// Cron is the timer trigger spec (e.g. "H 22 * * 5"); empty for none. It is
	// set on the job itself because a Jenkinsfile's triggers only take effect
	// after the job's first run.
	Cron string
}

// normalized returns the job with surrounding blanks trimmed and defaults
// applied: the form in which jobs are compared.
func (j PipelineJob) normalized() PipelineJob {
	n := PipelineJob{
		Description:   strings.TrimSpace(j.Description),
		RepoURL:       strings.TrimSpace(j.RepoURL),
		Branch:        strings.TrimSpace(j.Branch),
		ScriptPath:    strings.TrimSpace(j.ScriptPath),
		CredentialsID: strings.TrimSpace(j.CredentialsID),
		Cron:          strings.TrimSpace(j.Cron),
	}
	if n.ScriptPath == "" {
		n.ScriptPath = defaultScript
	}
	return n
}

func (j PipelineJob) validate() error {
	switch {
	case strings.TrimSpace(j.RepoURL) == "":
		return errors.New("pipeline job: repository URL is required")
	case strings.TrimSpace(j.Branch) == "":
		return errors.New("pipeline job: branch is required")
	}
	return nil
}

// ConfigXML returns the job's config.xml: a WorkflowJob (flow-definition)
// with a CpsScmFlowDefinition on hudson.plugins.git.GitSCM, concurrent builds
// disabled, and a TimerTrigger when Cron is set. Plugin versions are left
// out; Jenkins fills them in.
func (j PipelineJob) ConfigXML() ([]byte, error) {
	if err := j.validate(); err != nil {
		return nil, err
	}
	j = j.normalized()
	doc := flowDefinition{
		XMLName:     xml.Name{Local: "flow-definition"},
		Description: j.Description,
		Properties: properties{
			DisableConcurrent: &struct{}{},
		},
		Definition: definition{
			Class: cpsScmDefinition,
			SCM: gitSCM{
				Class:         gitSCMClass,
				ConfigVersion: 2,
				Remotes:       []userRemoteConfig{{URL: j.RepoURL, CredentialsID: j.CredentialsID}},
				Branches:      []branchSpec{{Name: j.Branch}},
			},
			ScriptPath:  j.ScriptPath,
			Lightweight: true,
		},
	}
	if j.Cron != "" {
		doc.Properties.Triggers = &pipelineTriggers{Timers: []timerTrigger{{Spec: j.Cron}}}
	}
	out, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode config.xml: %w", err)
	}
	return append([]byte(xml.Header), append(out, '\n')...), nil
}

// ParsePipelineJob reads a pipeline job's config.xml, XML 1.0 or 1.1 (as
// Jenkins writes it), ignoring what PipelineJob does not describe. A config
// of another kind of job is ErrNotPipeline.
func ParsePipelineJob(configXML []byte) (PipelineJob, error) {
	job, _, err := parsePipeline(configXML)
	return job, err
}

// parsePipeline also returns the definition's kind ("class" of the definition
// and, for a CpsScmFlowDefinition, of its SCM), to tell an SCM pipeline from
// an inline script.
func parsePipeline(configXML []byte) (PipelineJob, string, error) {
	var doc flowDefinition
	if err := xml.Unmarshal(toXML10(configXML), &doc); err != nil {
		return PipelineJob{}, "", fmt.Errorf("decode config.xml: %w", err)
	}
	if doc.XMLName.Local != "flow-definition" {
		return PipelineJob{}, "", fmt.Errorf("%w: config.xml is a <%s>", ErrNotPipeline, doc.XMLName.Local)
	}
	job := PipelineJob{
		Description: strings.TrimSpace(doc.Description),
		ScriptPath:  strings.TrimSpace(doc.Definition.ScriptPath),
	}
	scm := doc.Definition.SCM
	if len(scm.Remotes) > 0 {
		job.RepoURL = strings.TrimSpace(scm.Remotes[0].URL)
		job.CredentialsID = strings.TrimSpace(scm.Remotes[0].CredentialsID)
	}
	if len(scm.Branches) > 0 {
		job.Branch = strings.TrimSpace(scm.Branches[0].Name)
	}
	if t := doc.Properties.Triggers; t != nil && len(t.Timers) > 0 {
		job.Cron = strings.TrimSpace(t.Timers[0].Spec)
	}
	kind := doc.Definition.Class
	if kind == cpsScmDefinition {
		kind += " on " + scm.Class
	}
	return job, kind, nil
}

// The parts of a WorkflowJob's config.xml that PipelineJob describes.
type flowDefinition struct {
	XMLName          xml.Name
	Actions          struct{}   `xml:"actions"`
	Description      string     `xml:"description"`
	KeepDependencies bool       `xml:"keepDependencies"`
	Properties       properties `xml:"properties"`
	Definition       definition `xml:"definition"`
}

type properties struct {
	DisableConcurrent *struct{}         `xml:"org.jenkinsci.plugins.workflow.job.properties.DisableConcurrentBuildsJobProperty"`
	Triggers          *pipelineTriggers `xml:"org.jenkinsci.plugins.workflow.job.properties.PipelineTriggersJobProperty"`
}

type pipelineTriggers struct {
	Timers []timerTrigger `xml:"triggers>hudson.triggers.TimerTrigger"`
}

type timerTrigger struct {
	Spec string `xml:"spec"`
}

type definition struct {
	Class       string `xml:"class,attr"`
	SCM         gitSCM `xml:"scm"`
	ScriptPath  string `xml:"scriptPath"`
	Lightweight bool   `xml:"lightweight"`
}

type gitSCM struct {
	Class         string             `xml:"class,attr"`
	ConfigVersion int                `xml:"configVersion"`
	Remotes       []userRemoteConfig `xml:"userRemoteConfigs>hudson.plugins.git.UserRemoteConfig"`
	Branches      []branchSpec       `xml:"branches>hudson.plugins.git.BranchSpec"`
	Extensions    struct{}           `xml:"extensions"`
}

type userRemoteConfig struct {
	URL           string `xml:"url"`
	CredentialsID string `xml:"credentialsId,omitempty"`
}

type branchSpec struct {
	Name string `xml:"name"`
}

var (
	prologRE  = regexp.MustCompile(`^\s*<\?xml\s[^>]*\?>`)
	version11 = regexp.MustCompile(`version\s*=\s*(?:'1\.1'|"1\.1")`)
	charRefRE = regexp.MustCompile(`&#(?:x([0-9a-fA-F]+)|([0-9]+));`)
)

// toXML10 turns an XML 1.1 document, as Jenkins writes config.xml, into one
// that encoding/xml accepts: the prolog says version 1.0, and character
// references to control characters that only XML 1.1 allows become U+FFFD.
// Other documents are returned as they are.
func toXML10(doc []byte) []byte {
	doc = bytes.TrimPrefix(doc, []byte("\ufeff"))
	loc := prologRE.FindIndex(doc)
	if loc == nil || !version11.Match(doc[loc[0]:loc[1]]) {
		return doc
	}
	prolog := version11.ReplaceAll(doc[loc[0]:loc[1]], []byte(`version="1.0"`))
	body := charRefRE.ReplaceAllFunc(doc[loc[1]:], func(ref []byte) []byte {
		m := charRefRE.FindSubmatch(ref)
		var n uint64
		var err error
		if len(m[1]) > 0 {
			n, err = strconv.ParseUint(string(m[1]), 16, 32)
		} else {
			n, err = strconv.ParseUint(string(m[2]), 10, 32)
		}
		if err == nil && n < 0x20 && n != '\t' && n != '\n' && n != '\r' {
			return []byte("\ufffd")
		}
		return ref
	})
	return append(prolog, body...)
}

// BranchSpec turns a branch name into the git plugin's branch specifier:
// "main" becomes "*/main" (that branch of whichever remote), which is what
// the Jenkins UI recommends. A value that already is a specifier (it starts
// with "*/", "refs/" or ":" or contains a wildcard) is returned as it is.
func BranchSpec(branch string) string {
	b := strings.TrimSpace(branch)
	switch {
	case b == "", strings.HasPrefix(b, "*/"), strings.HasPrefix(b, "refs/"), strings.HasPrefix(b, ":"), strings.Contains(b, "*"):
		return b
	}
	return "*/" + b
}
