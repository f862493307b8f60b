// Package jenkinsfile checks declarative Jenkinsfiles offline, without a Jenkins server.
//
// Record evaluates a Jenkinsfile with Groovy 2.4 (Debian's groovy package) and record.groovy, a
// small DSL that mimics declarative pipeline syntax, and returns what the file declares:
// sections, options, triggers, parameters, environment, the stage tree with every step in
// order, and post conditions. Unknown sections, directives, post conditions and steps, and
// syntax errors, come back as a *CheckError. Tests assert on the returned Pipeline.
//
// Code in script { } blocks runs: params holds the parameter defaults, env returns '${NAME}' for
// variables only Jenkins knows (BUILD_NUMBER, ...), sh(returnStdout: true) returns
// '$(command)', and every conditional body (retry, timeout, catchError, ...) runs once.
package jenkinsfile

// PostConditions lists post conditions in the order Jenkins runs them.
var PostConditions = []string{
	"always", "changed", "fixed", "regression", "aborted", "failure", "success",
	"unstable", "unsuccessful", "notBuilt", "cleanup",
}

// Pipeline is the record of one declarative Jenkinsfile.
type Pipeline struct {
	File string `json:"file"`
	// Sections are the top-level sections in the order they appear.
	Sections []string    `json:"sections"`
	Agent    Agent       `json:"agent"`
	Tools    []Directive `json:"tools,omitempty"`
	Options  []Directive `json:"options,omitempty"`
	// Triggers are the cron specs of triggers { cron('...') }.
	Triggers []string `json:"cron,omitempty"`
	// TriggerDirectives are all of triggers { }, cron, pollSCM and upstream alike.
	TriggerDirectives []Directive `json:"triggers,omitempty"`
	Parameters        []Parameter `json:"parameters,omitempty"`
	Environment       []EnvVar    `json:"environment,omitempty"`
	Stages            []Stage     `json:"stages"`
	// Post maps a post condition (always, failure, ...) to its steps.
	Post map[string][]Step `json:"post,omitempty"`
}

// Agent is an agent section: Type any, none, label, docker, dockerfile, node or kubernetes.
type Agent struct {
	Type  string         `json:"type"`
	Label string         `json:"label,omitempty"`
	Args  map[string]any `json:"args,omitempty"`
}

// Directive is one call in options, triggers or tools: timeout(time: 2, unit: 'HOURS') has
// Args time and unit, retry(3) has Values [3]. Numbers are float64; a helper call such as
// logRotator(...) is a map with "symbol" and "args".
type Directive struct {
	Name   string         `json:"name"`
	Args   map[string]any `json:"args,omitempty"`
	Values []any          `json:"values,omitempty"`
	Line   int            `json:"line,omitempty"`
}

// Parameter is one entry of parameters { }. Default is the value params holds: the first
// choice of a choice parameter.
type Parameter struct {
	Type        string   `json:"type"`
	Name        string   `json:"name"`
	Default     any      `json:"default"`
	Description string   `json:"description,omitempty"`
	Choices     []string `json:"choices,omitempty"`
	Line        int      `json:"line,omitempty"`
}

// EnvVar is one entry of environment { }. Credentials is the id when the value is
// credentials('id'); Value is then '${NAME}'. Steps are those the value called, such as
// sh(returnStdout: true, ...).
type EnvVar struct {
	Name        string `json:"name"`
	Value       string `json:"value"`
	Credentials string `json:"credentials,omitempty"`
	Steps       []Step `json:"steps,omitempty"`
	Line        int    `json:"line,omitempty"`
}

// Stage is one stage. Exactly one of Steps, Parallel and Stages is set.
type Stage struct {
	Name        string            `json:"name"`
	Agent       *Agent            `json:"agent,omitempty"`
	When        []Condition       `json:"when,omitempty"`
	Options     []Directive       `json:"options,omitempty"`
	Environment []EnvVar          `json:"environment,omitempty"`
	Tools       []Directive       `json:"tools,omitempty"`
	Input       map[string]any    `json:"input,omitempty"`
	FailFast    bool              `json:"failFast,omitempty"`
	Steps       []Step            `json:"steps,omitempty"`
	Parallel    []Stage           `json:"parallel,omitempty"`
	Stages      []Stage           `json:"stages,omitempty"`
	Post        map[string][]Step `json:"post,omitempty"`
	Line        int               `json:"line,omitempty"`
}

// Condition is one condition of when { }. Value is what an expression { } returned with the
// parameter defaults; not, allOf and anyOf have Children.
type Condition struct {
	Name     string         `json:"name"`
	Args     map[string]any `json:"args,omitempty"`
	Values   []any          `json:"values,omitempty"`
	Value    any            `json:"value,omitempty"`
	Children []Condition    `json:"children,omitempty"`
	Line     int            `json:"line,omitempty"`
}

// Step is one step call, in the order the stage runs them; the steps inside a block step
// (script, withCredentials, dir, lock, timeout, retry, catchError, ...) follow it, each with
// the enclosing blocks in Wrappers, outermost first: "script", "withCredentials:aws-staging",
// "dir:artifacts", "lock:staging", "timeout:20 MINUTES", "retry:3", "withEnv:A,B". A lock,
// timeout or retry in a stage's options wraps every step of that stage the same way.
type Step struct {
	Name string `json:"name"`
	// Script is the command of sh.
	Script   string         `json:"script,omitempty"`
	Args     map[string]any `json:"args,omitempty"`
	Values   []any          `json:"values,omitempty"`
	Wrappers []string       `json:"wrappers,omitempty"`
	// Block is set for block steps; their body's steps follow them.
	Block bool `json:"block,omitempty"`
	Line  int  `json:"line,omitempty"`
}

// Under tells whether the step runs inside wrapper, e.g. "lock:staging".
func (s Step) Under(wrapper string) bool {
	for _, w := range s.Wrappers {
		if w == wrapper {
			return true
		}
	}
	return false
}

// Option returns the top-level option called name.
func (p *Pipeline) Option(name string) (Directive, bool) {
	for _, o := range p.Options {
		if o.Name == name {
			return o, true
		}
	}
	return Directive{}, false
}

// StageOrder lists the top-level stages in order: a stage's name, or for a parallel group
// the names of its branches.
func (p *Pipeline) StageOrder() [][]string {
	order := make([][]string, 0, len(p.Stages))
	for _, s := range p.Stages {
		if len(s.Parallel) == 0 {
			order = append(order, []string{s.Name})
			continue
		}
		names := make([]string, 0, len(s.Parallel))
		for _, b := range s.Parallel {
			names = append(names, b.Name)
		}
		order = append(order, names)
	}
	return order
}

// FindStage returns the stage called name, at any depth.
func (p *Pipeline) FindStage(name string) (*Stage, bool) {
	return findStage(p.Stages, name)
}

func findStage(stages []Stage, name string) (*Stage, bool) {
	for i := range stages {
		s := &stages[i]
		if s.Name == name {
			return s, true
		}
		if found, ok := findStage(s.Parallel, name); ok {
			return found, true
		}
		if found, ok := findStage(s.Stages, name); ok {
			return found, true
		}
	}
	return nil, false
}

// AllSh lists every sh command in order: environment values, stages depth first (each with
// its own post), then the pipeline's post conditions in the order Jenkins runs them.
func (p *Pipeline) AllSh() []string {
	var out []string
	out = envSh(out, p.Environment)
	for i := range p.Stages {
		out = append(out, p.Stages[i].AllSh()...)
	}
	return postSh(out, p.Post)
}

// AllSh lists every sh command of the stage in order, nested and parallel stages included.
func (s *Stage) AllSh() []string {
	var out []string
	out = envSh(out, s.Environment)
	out = stepsSh(out, s.Steps)
	for i := range s.Parallel {
		out = append(out, s.Parallel[i].AllSh()...)
	}
	for i := range s.Stages {
		out = append(out, s.Stages[i].AllSh()...)
	}
	return postSh(out, s.Post)
}

func envSh(out []string, env []EnvVar) []string {
	for _, e := range env {
		out = stepsSh(out, e.Steps)
	}
	return out
}

func stepsSh(out []string, steps []Step) []string {
	for _, st := range steps {
		if st.Name == "sh" {
			out = append(out, st.Script)
		}
	}
	return out
}

func postSh(out []string, post map[string][]Step) []string {
	for _, cond := range PostConditions {
		out = stepsSh(out, post[cond])
	}
	return out
}
