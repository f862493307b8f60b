// record.groovy checks a declarative Jenkinsfile offline (Groovy 2.4, no Jenkins).
//
//     groovy record.groovy path/to/Jenkinsfile
//
// It evaluates the file with a DSL that mimics declarative pipeline syntax and prints what it
// recorded (sections, options, triggers, parameters, environment, the stage tree with every
// step, post conditions) as one JSON document on stdout. Code inside script { } blocks runs for
// real, with params holding the parameter defaults, env returning '${NAME}' for variables only
// Jenkins would know (BUILD_NUMBER, ...), and currentBuild a settable stand-in.
//
// Unknown sections, directives, post conditions and steps are errors, as are syntax errors:
// then stdout is empty, stderr has "path:line: message" lines, and the exit code is 1.
// Exit code 2 is a usage error (no such file).
//
// Stand-ins for step results: sh returnStdout gives '$(command)', returnStatus gives 0,
// fileExists gives true, readFile '', readJSON [:], input null, build a SUCCESS result.
// Bodies of retry/timeout/waitUntil/catchError/... run once.

import groovy.json.JsonOutput
import org.codehaus.groovy.ast.ClassCodeVisitorSupport
import org.codehaus.groovy.ast.ClassNode
import org.codehaus.groovy.ast.expr.ConstantExpression
import org.codehaus.groovy.ast.expr.MethodCallExpression
import org.codehaus.groovy.classgen.GeneratorContext
import org.codehaus.groovy.control.CompilationFailedException
import org.codehaus.groovy.control.CompilePhase
import org.codehaus.groovy.control.CompilerConfiguration
import org.codehaus.groovy.control.MultipleCompilationErrorsException
import org.codehaus.groovy.control.SourceUnit
import org.codehaus.groovy.control.customizers.CompilationCustomizer
import org.codehaus.groovy.control.messages.ExceptionMessage
import org.codehaus.groovy.control.messages.SyntaxErrorMessage

// ---------------------------------------------------------------------------------------------
// What is known. Anything else is an error.

class Known {
    static final List<String> PIPELINE_SECTIONS = [
        'agent', 'tools', 'parameters', 'environment', 'options', 'triggers', 'stages', 'post']
    static final List<String> STAGE_DIRECTIVES = [
        'agent', 'when', 'options', 'environment', 'tools', 'input', 'failFast',
        'steps', 'parallel', 'stages', 'matrix', 'post']
    static final Set<String> PIPELINE_OPTIONS = [
        'buildDiscarder', 'checkoutToSubdirectory', 'copyArtifactPermission', 'disableConcurrentBuilds',
        'disableResume', 'durabilityHint', 'lock', 'newContainerPerStage', 'overrideIndexTriggers',
        'parallelsAlwaysFailFast', 'preserveStashes', 'quietPeriod', 'retry', 'skipDefaultCheckout',
        'skipStagesAfterUnstable', 'timeout', 'timestamps'] as Set
    static final Set<String> STAGE_OPTIONS = [
        'lock', 'retry', 'skipDefaultCheckout', 'timeout', 'timestamps'] as Set
    // Stage options that wrap every step of the stage; they show up in each step's wrappers.
    static final Set<String> WRAPPING_OPTIONS = ['lock', 'retry', 'timeout'] as Set
    static final Set<String> OPTION_HELPERS = ['logRotator'] as Set
    static final Set<String> TRIGGERS = ['cron', 'pollSCM', 'upstream'] as Set
    static final Set<String> PARAMETERS = ['string', 'text', 'password', 'booleanParam', 'choice'] as Set
    static final Set<String> TOOLS = ['maven', 'jdk', 'gradle', 'ant', 'go', 'nodejs'] as Set
    // Jenkins runs post conditions in this order.
    static final List<String> POST_CONDITIONS = [
        'always', 'changed', 'fixed', 'regression', 'aborted', 'failure', 'success',
        'unstable', 'unsuccessful', 'notBuilt', 'cleanup']
    static final Set<String> WHEN_CONDITIONS = [
        'branch', 'buildingTag', 'changelog', 'changeset', 'changeRequest', 'environment', 'equals',
        'expression', 'tag', 'triggeredBy', 'not', 'allOf', 'anyOf',
        'beforeAgent', 'beforeInput', 'beforeOptions'] as Set
    static final Set<String> AGENT_KINDS = ['label', 'docker', 'dockerfile', 'node', 'kubernetes'] as Set
    static final Set<String> AGENT_OPTIONS = [
        'label', 'image', 'args', 'reuseNode', 'customWorkspace', 'registryUrl', 'registryCredentialsId',
        'alwaysPull', 'filename', 'dir', 'additionalBuildArgs', 'yaml', 'yamlFile', 'cloud',
        'defaultContainer', 'inheritFrom', 'namespace'] as Set
    static final Set<String> INPUT_OPTIONS = ['message', 'id', 'ok', 'submitter', 'submitterParameter'] as Set

    // Steps that take a { } body, and the steps that take none.
    static final Set<String> BLOCK_STEPS = [
        'script', 'withCredentials', 'withEnv', 'dir', 'lock', 'timeout', 'retry', 'catchError',
        'warnError', 'waitUntil'] as Set
    static final Set<String> STEPS = [
        'sh', 'echo', 'error', 'unstable', 'sleep', 'input', 'milestone',
        'archiveArtifacts', 'copyArtifacts', 'stash', 'unstash', 'junit',
        'writeFile', 'readFile', 'fileExists', 'readJSON', 'writeJSON', 'pwd', 'deleteDir', 'cleanWs',
        'checkout', 'git', 'build', 'mail', 'emailext'] as Set
    // Functions that build a step's arguments: credential bindings, copyArtifacts selectors,
    // build parameters. They are recorded inside the step's arguments, not as steps.
    static final Set<String> STEP_HELPERS = [
        'usernamePassword', 'usernameColonPassword', 'string', 'file', 'sshUserPrivateKey', 'certificate',
        'lastSuccessful', 'lastCompleted', 'specific', 'upstream', 'permalink',
        'booleanParam', 'text'] as Set
}

// ---------------------------------------------------------------------------------------------
// Errors and where they happened.

class Where {
    // The name the Jenkinsfile is compiled under; its stack frames carry it.
    static final String SCRIPT_NAME = 'Jenkinsfile'

    // line is the line of the innermost Jenkinsfile frame of t, 0 when there is none.
    static int line(Throwable t) {
        for (StackTraceElement e : t.stackTrace) {
            if (e.fileName == SCRIPT_NAME && e.lineNumber > 0) {
                return e.lineNumber
            }
        }
        return 0
    }

    static int here() { line(new Throwable()) }
}

// CheckError is a mistake in the Jenkinsfile; its line is where the Jenkinsfile was when it was
// raised.
class CheckError extends RuntimeException {
    final int line

    CheckError(String message) {
        super(message)
        line = Where.line(this)
    }
}

// Names are the method names the compiler rewrites: a closure would otherwise answer
// `sleep 5` (Object.sleep) or `equals expected: ...` (Object.equals) itself, before the DSL
// sees the call.
class Names {
    static final String PREFIX = '__step_'
    static final Set<String> RENAMED = ['sleep', 'equals'] as Set

    static String strip(String name) { name.startsWith(PREFIX) ? name.substring(PREFIX.length()) : name }
}

class StepRenamer extends CompilationCustomizer {
    StepRenamer() { super(CompilePhase.CONVERSION) }

    void call(SourceUnit source, GeneratorContext context, ClassNode classNode) {
        classNode.visitContents(new RenameVisitor(source: source))
    }
}

class RenameVisitor extends ClassCodeVisitorSupport {
    SourceUnit source

    protected SourceUnit getSourceUnit() { source }

    void visitMethodCallExpression(MethodCallExpression call) {
        if (call.implicitThis && Names.RENAMED.contains(call.methodAsString)) {
            call.method = new ConstantExpression(Names.PREFIX + call.methodAsString)
        }
        super.visitMethodCallExpression(call)
    }
}

// ---------------------------------------------------------------------------------------------
// Values.

// Sym is the result of a helper call such as logRotator(numToKeepStr: '30').
class Sym {
    String symbol
    Map args
    List values

    String toString() {
        List parts = []
        if (args) parts.addAll(args.collect { k, v -> "${k}: ${v}".toString() })
        if (values) parts.addAll(values.collect { it.toString() })
        symbol + '(' + parts.join(', ') + ')'
    }
}

// AgentKind is `any` or `none` in `agent any`.
class AgentKind {
    String kind

    String toString() { kind }
}

// CredRef is credentials('id') in an environment block.
class CredRef {
    String id

    String toString() { "credentials(${id})" }
}

class Json {
    // norm turns a recorded value into plain JSON data.
    static Object norm(Object v) {
        if (v == null || v instanceof Boolean || v instanceof Number || v instanceof String) return v
        if (v instanceof CharSequence) return v.toString()
        if (v instanceof Sym) {
            Map m = [symbol: v.symbol]
            if (v.args) m.args = norm(v.args)
            if (v.values) m.values = norm(v.values)
            return m
        }
        if (v instanceof Map) {
            Map m = [:]
            for (Map.Entry e : ((Map) v).entrySet()) m[e.key.toString()] = norm(e.value)
            return m
        }
        if (v instanceof Collection || v instanceof Object[]) {
            List l = []
            for (Object x : v) l << norm(x)
            return l
        }
        if (v instanceof Closure) return '{ ... }'
        return v.toString()
    }
}

// Call is one method call of the DSL: named arguments, positional values, a trailing body.
class Call {
    String name
    Map named
    List values = []
    Closure body
    int line

    static Object[] toArray(Object args) {
        if (args == null) return new Object[0]
        if (args instanceof Object[]) return (Object[]) args
        return [args] as Object[]
    }

    static Call of(String name, Object args) {
        Object[] a = toArray(args)
        Call c = new Call(name: name, line: Where.here())
        int from = 0
        int to = a.length
        if (to > 0 && a[0] instanceof Map) {
            c.named = (Map) a[0]
            from = 1
        }
        if (to > from && a[to - 1] instanceof Closure) {
            c.body = (Closure) a[to - 1]
            to--
        }
        for (int i = from; i < to; i++) c.values << a[i]
        return c
    }

    // arg is the named argument key, or else the positional value at pos.
    Object arg(String key, int pos) {
        if (named != null && named.containsKey(key)) return named[key]
        return pos >= 0 && values.size() > pos ? values[pos] : null
    }

    boolean hasArgs() { named != null || !values.isEmpty() }

    Sym sym() { new Sym(symbol: name, args: named, values: values) }

    Map record() {
        Map m = [name: name]
        if (named != null) m.args = Json.norm(named)
        if (!values.isEmpty()) m.values = Json.norm(values)
        if (line > 0) m.line = line
        return m
    }
}

// EnvVars is `env`: scopes of variables, innermost last; unknown names read as '${NAME}'.
class EnvVars extends GroovyObjectSupport {
    private final List<Map> scopes = [[:]]

    Object getProperty(String name) { lookup(name) }

    // env.X = ... sets a build-wide variable; environment { } and withEnv still win over it,
    // as in Jenkins.
    void setProperty(String name, Object value) { scopes.get(0).put(name, value == null ? null : value.toString()) }

    boolean has(String name) {
        for (Map s : scopes) if (s.containsKey(name)) return true
        return false
    }

    Object lookup(String name) {
        for (int i = scopes.size() - 1; i >= 0; i--) {
            if (scopes.get(i).containsKey(name)) return scopes.get(i).get(name)
        }
        return '${' + name + '}'
    }

    Map getEnvironment() {
        Map m = [:]
        for (Map s : scopes) m.putAll(s)
        return m
    }

    void push(Map scope) { scopes.add(scope) }

    void pop() { scopes.remove(scopes.size() - 1) }

    String toString() { 'env' }
}

// ---------------------------------------------------------------------------------------------
// DSL contexts. Each is the delegate of one kind of { } block; every call and property of the
// block comes through dispatch/resolve/assign. Subclasses must not read their own fields from
// inside closures: that would go through getProperty.

abstract class Ctx extends GroovyObjectSupport {
    Object invokeMethod(String name, Object args) { dispatch(Names.strip(name), Call.toArray(args)) }

    Object getProperty(String name) { resolve(name) }

    void setProperty(String name, Object value) { assign(name, value) }

    abstract Object dispatch(String name, Object[] args)

    // resolve reads a name the block does not define: binding, script fields, env.
    Object resolve(String name) { Recorder.current.script.getProperty(name) }

    void assign(String name, Object value) { Recorder.current.script.setProperty(name, value) }

    static void noBody(Call c, String where) {
        if (c.body != null) throw new CheckError("'${c.name}' takes no { } block in ${where}")
    }

    static Closure onlyBody(Call c, String where) {
        if (c.body == null || c.hasArgs()) throw new CheckError("'${c.name}' takes only a { } block in ${where}")
        return c.body
    }
}

// Blocks runs a closure with a delegate that sees every call first.
class Blocks {
    static Object run(Closure body, Object delegate) {
        Closure c = (Closure) body.clone()
        c.delegate = delegate
        c.resolveStrategy = Closure.DELEGATE_FIRST
        return c.call()
    }
}

// SectionsCtx collects named blocks (pipeline sections, stage directives) in source order.
class SectionsCtx extends Ctx {
    String where
    List<String> allowed
    Map<String, Call> calls = [:]

    Object dispatch(String name, Object[] args) {
        if (!allowed.contains(name)) {
            throw new CheckError("unknown ${where == 'pipeline' ? 'section' : 'directive'} '${name}' in ${where}")
        }
        if (calls.containsKey(name)) throw new CheckError("duplicate '${name}' in ${where}")
        calls[name] = Call.of(name, args)
        return null
    }

    Object resolve(String name) {
        if (name == 'any' || name == 'none') return new AgentKind(kind: name)
        return super.resolve(name)
    }
}

// DirectivesCtx records calls from an allow-list: options, triggers, tools.
class DirectivesCtx extends Ctx {
    String kind
    String where
    Set<String> allowed
    Set<String> helpers = [] as Set
    List<Call> calls = []

    Object dispatch(String name, Object[] args) {
        Call c = Call.of(name, args)
        if (helpers.contains(name)) return c.sym()
        if (!allowed.contains(name)) throw new CheckError("unknown ${kind} '${name}' in ${where}")
        noBody(c, where)
        calls << c
        return null
    }
}

class ParametersCtx extends Ctx {
    List<Map> params = []
    Set<String> names = [] as Set

    Object dispatch(String name, Object[] args) {
        Call c = Call.of(name, args)
        if (!Known.PARAMETERS.contains(name)) throw new CheckError("unknown parameter type '${name}' in parameters")
        noBody(c, 'parameters')
        Map a = c.named ?: [:]
        String pname = a.name?.toString()
        if (!pname) throw new CheckError("parameter ${name}(...) needs a name")
        if (!names.add(pname)) throw new CheckError("duplicate parameter '${pname}'")
        Map p = [type: name, name: pname]
        Object dflt = a.defaultValue
        if (name == 'choice') {
            Object choices = a.choices
            List list = choices instanceof CharSequence ? choices.toString().split('\n') as List : (choices as List)
            if (!list) throw new CheckError("choice parameter '${pname}' needs choices")
            p.choices = Json.norm(list)
            dflt = list[0]
        } else if (name == 'booleanParam') {
            dflt = dflt == null ? false : dflt
        } else {
            dflt = dflt == null ? '' : dflt
        }
        p['default'] = Json.norm(dflt)
        if (a.description != null) p.description = a.description.toString()
        if (c.line > 0) p.line = c.line
        params << p
        return null
    }
}

class EnvironmentCtx extends Ctx {
    String where
    Map<String, String> vars = [:]
    List<Map> entries = []
    StepsCtx steps

    Object dispatch(String name, Object[] args) {
        if (name == 'credentials') {
            Call c = Call.of(name, args)
            if (c.values.size() != 1 || c.named != null) throw new CheckError("credentials takes one credentials id in ${where}")
            return new CredRef(id: c.values[0].toString())
        }
        // environment values may come from steps: GIT_SHA = sh(returnStdout: true, script: '...')
        return Recorder.current.step(steps, name, args, false)
    }

    Object resolve(String name) {
        if (vars.containsKey(name)) return vars[name]
        return super.resolve(name)
    }

    void assign(String name, Object value) {
        Map e = [name: name]
        if (value instanceof CredRef) {
            vars[name] = '${' + name + '}'
            e.value = vars[name]
            e.credentials = ((CredRef) value).id
        } else {
            vars[name] = value == null ? '' : value.toString()
            e.value = vars[name]
        }
        int line = Where.here()
        if (line > 0) e.line = line
        List called = steps.@out
        if (!called.isEmpty()) {
            e.steps = new ArrayList(called)
            called.clear()
        }
        entries << e
    }
}

class WhenCtx extends Ctx {
    String where
    List<Map> conditions = []

    Object dispatch(String name, Object[] args) {
        Call c = Call.of(name, args)
        if (!Known.WHEN_CONDITIONS.contains(name)) throw new CheckError("unknown when condition '${name}' in ${where}")
        Map m = c.record()
        if (name in ['not', 'allOf', 'anyOf']) {
            WhenCtx inner = new WhenCtx(where: where)
            Blocks.run(onlyBody(c, where), inner)
            if (name == 'not' && inner.@conditions.size() != 1) throw new CheckError("not { } takes one condition in ${where}")
            m.children = inner.@conditions
        } else if (name == 'expression') {
            m.value = Json.norm(Recorder.current.evaluate(onlyBody(c, where), where))
        } else {
            noBody(c, where)
        }
        conditions << m
        return null
    }
}

class AgentCtx extends Ctx {
    String where
    Map agent

    Object dispatch(String name, Object[] args) {
        Call c = Call.of(name, args)
        if (!Known.AGENT_KINDS.contains(name)) throw new CheckError("unknown agent type '${name}' in ${where}")
        if (agent != null) throw new CheckError("agent { } takes one agent type in ${where}")
        Map a = [type: name]
        if (name == 'label') {
            noBody(c, where)
            a.label = c.arg('label', 0)?.toString()
        } else if (c.body != null) {
            AgentOptionsCtx opts = new AgentOptionsCtx(where: "agent ${name} in ${where}")
            Blocks.run(c.body, opts)
            a.args = Json.norm(opts.@options)
        } else if (c.named != null) {
            a.args = Json.norm(c.named)
        } else if (!c.values.isEmpty()) {
            a.args = name == 'docker' ? [image: Json.norm(c.values[0])] : [value: Json.norm(c.values[0])]
        }
        if (a.args instanceof Map && a.args.label != null) a.label = a.args.label.toString()
        agent = a
        return null
    }
}

class AgentOptionsCtx extends Ctx {
    String where
    Map options = [:]

    Object dispatch(String name, Object[] args) {
        Call c = Call.of(name, args)
        if (!Known.AGENT_OPTIONS.contains(name)) throw new CheckError("unknown option '${name}' in ${where}")
        noBody(c, where)
        options[name] = c.values.size() == 1 ? c.values[0] : c.sym()
        return null
    }
}

class InputCtx extends Ctx {
    String where
    Map input = [:]

    Object dispatch(String name, Object[] args) {
        Call c = Call.of(name, args)
        if (name == 'parameters') {
            ParametersCtx p = new ParametersCtx()
            Blocks.run(onlyBody(c, where), p)
            input.parameters = p.@params
            return null
        }
        if (!Known.INPUT_OPTIONS.contains(name)) throw new CheckError("unknown input option '${name}' in ${where}")
        noBody(c, where)
        input[name] = Json.norm(c.arg(name, 0))
        return null
    }
}

class StagesCtx extends Ctx {
    String where
    List<String> wrappers
    List<Map> stages = []

    Object dispatch(String name, Object[] args) {
        if (name != 'stage') throw new CheckError("unknown directive '${name}' in ${where}: only stage('name') { } belongs here")
        stages << Recorder.current.stage(Call.of(name, args), wrappers)
        return null
    }
}

class PostCtx extends Ctx {
    String where
    List<String> wrappers
    Map<String, List> conditions = [:]

    Object dispatch(String name, Object[] args) {
        Call c = Call.of(name, args)
        if (!Known.POST_CONDITIONS.contains(name)) throw new CheckError("unknown post condition '${name}' in ${where}")
        if (conditions.containsKey(name)) throw new CheckError("duplicate post condition '${name}' in ${where}")
        List steps = []
        conditions[name] = steps
        Recorder.current.runSteps(onlyBody(c, "${where} ${name}"), steps, wrappers, "${where} ${name}")
        return null
    }
}

// StepsCtx is the delegate of steps { }, post conditions and every block step inside them.
class StepsCtx extends Ctx {
    List out
    List<String> wrappers
    boolean inScript
    String where

    Object dispatch(String name, Object[] args) { Recorder.current.step(this, name, args, false) }
}

// PipelineScript is the base class of the compiled Jenkinsfile.
abstract class PipelineScript extends Script {
    void pipeline(Closure body) { Recorder.current.pipeline(body) }

    // Calls nothing else answers: steps called from functions of the Jenkinsfile while a steps
    // block runs, or mistakes.
    def methodMissing(String name, Object args) {
        Recorder r = Recorder.current
        String n = Names.strip(name)
        if (!r.stack.isEmpty()) return r.step(r.stack.get(r.stack.size() - 1), n, Call.toArray(args), true)
        throw new CheckError("unknown top-level call '${n}': a declarative Jenkinsfile has one pipeline { } block")
    }

    // Environment variables are readable by bare name, as in Jenkins.
    Object getProperty(String name) {
        try {
            return super.getProperty(name)
        } catch (MissingPropertyException e) {
            EnvVars env = Recorder.current.env
            if (env.has(name) || name ==~ /[A-Z_][A-Z0-9_]*/) return env.lookup(name)
            throw e
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The recorder: runs the blocks in the order Jenkins would and builds the record.

class Recorder {
    static Recorder current

    final String path
    Script script
    final Binding binding = new Binding()
    final EnvVars env = new EnvVars()
    final Expando currentBuild = new Expando(
        result: null, currentResult: 'SUCCESS', number: 1, displayName: '#1', description: null,
        previousBuild: null)
    // The steps blocks running now, innermost last.
    final List<StepsCtx> stack = []
    final Set<String> stageNames = [] as Set
    Map record

    Recorder(String path) {
        this.path = path
        binding.setVariable('env', env)
        binding.setVariable('params', Collections.unmodifiableMap([:]))
        binding.setVariable('currentBuild', currentBuild)
        binding.setVariable('scm', new Sym(symbol: 'scm'))
    }

    Map finish() {
        if (record == null) throw new CheckError('no pipeline { } block')
        return record
    }

    void pipeline(Closure body) {
        if (record != null) throw new CheckError('more than one pipeline { } block')
        SectionsCtx ctx = new SectionsCtx(where: 'pipeline', allowed: Known.PIPELINE_SECTIONS)
        Blocks.run(body, ctx)
        Map<String, Call> s = ctx.@calls
        for (String required : ['agent', 'stages']) {
            if (!s.containsKey(required)) throw new CheckError("missing section '${required}' in pipeline")
        }
        Map r = [file: path, sections: new ArrayList(s.keySet())]
        r.agent = agent(s.agent, 'pipeline')
        if (s.tools) r.tools = directives(s.tools, 'pipeline tools', 'tool', Known.TOOLS, [] as Set)
        if (s.parameters) {
            ParametersCtx p = new ParametersCtx()
            Blocks.run(Ctx.onlyBody(s.parameters, 'pipeline'), p)
            r.parameters = p.@params
            Map defaults = [:]
            for (Map param : p.@params) defaults[param.name] = param['default']
            binding.setVariable('params', Collections.unmodifiableMap(defaults))
        }
        if (s.environment) {
            EnvironmentCtx e = environment(s.environment, 'pipeline environment')
            r.environment = e.@entries
            env.push(e.@vars)
        }
        if (s.options) r.options = directives(s.options, 'pipeline options', 'option', Known.PIPELINE_OPTIONS, Known.OPTION_HELPERS)
        if (s.triggers) {
            List<Map> triggers = directives(s.triggers, 'pipeline triggers', 'trigger', Known.TRIGGERS, [] as Set)
            r.triggers = triggers
            r.cron = triggers.findAll { it.name == 'cron' }.collect { it.values ? it.values[0] : it.args?.spec }
        }
        r.stages = stages(s.stages, [], 'pipeline stages')
        if (r.stages.isEmpty()) throw new CheckError('no stage in pipeline stages')
        if (s.post) r.post = post(s.post, [], 'pipeline post')
        record = r
    }

    Map agent(Call c, String where) {
        if (c.body != null) {
            if (c.hasArgs()) throw new CheckError("agent takes any, none or a { } block in ${where}")
            AgentCtx a = new AgentCtx(where: where)
            Blocks.run(c.body, a)
            if (a.@agent == null) throw new CheckError("empty agent { } in ${where}")
            return a.@agent
        }
        if (c.values.size() == 1 && c.named == null && c.values[0] instanceof AgentKind) {
            return [type: c.values[0].toString()]
        }
        throw new CheckError("agent takes any, none or a { } block in ${where}")
    }

    List<Map> directives(Call c, String where, String kind, Set<String> allowed, Set<String> helpers) {
        DirectivesCtx d = new DirectivesCtx(kind: kind, where: where, allowed: allowed, helpers: helpers)
        Blocks.run(Ctx.onlyBody(c, where), d)
        return d.@calls.collect { it.record() }
    }

    EnvironmentCtx environment(Call c, String where) {
        StepsCtx steps = new StepsCtx(out: [], wrappers: [], inScript: true, where: where)
        EnvironmentCtx e = new EnvironmentCtx(where: where, steps: steps)
        env.push(e.@vars) // later entries see earlier ones through env
        stack.add(steps)
        try {
            Blocks.run(Ctx.onlyBody(c, where), e)
        } finally {
            stack.remove(stack.size() - 1)
            env.pop()
        }
        return e
    }

    List<Map> stages(Call c, List<String> wrappers, String where) {
        StagesCtx s = new StagesCtx(where: where, wrappers: wrappers)
        Blocks.run(Ctx.onlyBody(c, where), s)
        return s.@stages
    }

    Map post(Call c, List<String> wrappers, String where) {
        PostCtx p = new PostCtx(where: where, wrappers: wrappers)
        Blocks.run(Ctx.onlyBody(c, where), p)
        return p.@conditions
    }

    Map stage(Call c, List<String> outer) {
        if (c.values.size() != 1 || c.named != null || c.body == null) {
            throw new CheckError("stage takes a name and a { } block: stage('name') { ... }")
        }
        String name = c.values[0].toString()
        String where = "stage '${name}'"
        if (!stageNames.add(name)) throw new CheckError("duplicate stage name '${name}'")
        SectionsCtx ctx = new SectionsCtx(where: where, allowed: Known.STAGE_DIRECTIVES)
        Blocks.run(c.body, ctx)
        Map<String, Call> s = ctx.@calls
        if (s.matrix) throw new CheckError("matrix in ${where} is not supported by this checker")
        int bodies = ['steps', 'parallel', 'stages'].count { s.containsKey(it) }
        if (bodies != 1) throw new CheckError("${where} needs exactly one of steps, parallel or stages")

        Map st = [name: name]
        if (c.line > 0) st.line = c.line
        if (s.agent) st.agent = agent(s.agent, where)
        List<String> wrappers = new ArrayList(outer)
        if (s.options) {
            st.options = directives(s.options, "${where} options", 'option', Known.STAGE_OPTIONS, [] as Set)
            for (Map o : st.options) {
                if (Known.WRAPPING_OPTIONS.contains(o.name)) {
                    wrappers << wrapper(o.name, o.args ?: [:], o.values ?: [])
                }
            }
        }
        Map scope = null
        if (s.environment) {
            EnvironmentCtx e = environment(s.environment, "${where} environment")
            st.environment = e.@entries
            scope = e.@vars
            env.push(scope)
        }
        try {
            if (s.when) {
                WhenCtx w = new WhenCtx(where: "${where} when")
                Blocks.run(Ctx.onlyBody(s.when, where), w)
                st.when = w.@conditions
            }
            if (s.input) {
                InputCtx i = new InputCtx(where: "${where} input")
                Blocks.run(Ctx.onlyBody(s.input, where), i)
                st.input = i.@input
            }
            if (s.tools) st.tools = directives(s.tools, "${where} tools", 'tool', Known.TOOLS, [] as Set)
            if (s.failFast) {
                Object v = s.failFast.values ? s.failFast.values[0] : null
                if (!(v instanceof Boolean)) throw new CheckError("failFast takes true or false in ${where}")
                st.failFast = v
            }
            if (s.steps) {
                st.steps = []
                runSteps(Ctx.onlyBody(s.steps, where), st.steps, wrappers, where)
            }
            if (s.parallel) st.parallel = stages(s.parallel, wrappers, "${where} parallel")
            if (s.stages) st.stages = stages(s.stages, wrappers, "${where} stages")
            if (s.post) st.post = post(s.post, wrappers, "${where} post")
        } finally {
            if (scope != null) env.pop()
        }
        return st
    }

    void runSteps(Closure body, List out, List<String> wrappers, String where) {
        StepsCtx ctx = new StepsCtx(out: out, wrappers: wrappers, inScript: false, where: where)
        stack.add(ctx)
        try {
            Blocks.run(body, ctx)
        } finally {
            stack.remove(stack.size() - 1)
        }
    }

    // evaluate runs a when { expression { } } body and returns its value.
    Object evaluate(Closure body, String where) {
        StepsCtx ctx = new StepsCtx(out: [], wrappers: [], inScript: true, where: where)
        stack.add(ctx)
        try {
            return Blocks.run(body, ctx)
        } finally {
            stack.remove(stack.size() - 1)
        }
    }

    // step records one step called in ctx and returns a stand-in for its result. direct is
    // true for calls that reached the Jenkinsfile script object itself.
    Object step(StepsCtx ctx, String name, Object[] args, boolean direct) {
        Call c = Call.of(name, args)
        if (Known.STEP_HELPERS.contains(name)) return c.sym()
        boolean block = Known.BLOCK_STEPS.contains(name)
        if (!block && !Known.STEPS.contains(name)) {
            if (!direct && (ctx.@inScript || declared(name))) {
                // Groovy code: a function of the Jenkinsfile, println, ...; unknown names come
                // back through PipelineScript.methodMissing as direct calls.
                return script.invokeMethod(name, args)
            }
            throw new CheckError("unknown step '${name}' in ${ctx.@where}")
        }
        if (block && c.body == null) throw new CheckError("step '${name}' needs a { } block in ${ctx.@where}")
        if (!block) Ctx.noBody(c, ctx.@where)

        Map e = [name: name]
        if (name == 'sh') {
            Object cmd = c.arg('script', 0)
            if (cmd == null) throw new CheckError("sh needs a script in ${ctx.@where}")
            e.script = cmd.toString()
        }
        if (c.named != null) e.args = Json.norm(c.named)
        if (!c.values.isEmpty()) e.values = Json.norm(c.values)
        if (ctx.@wrappers) e.wrappers = new ArrayList(ctx.@wrappers)
        if (block) e.block = true
        if (c.line > 0) e.line = c.line
        ctx.@out << e

        if (block) {
            Map scope = name == 'withEnv' ? withEnv(c, ctx.@where) : null
            return runBlock(ctx, c.body, wrapper(name, c.named ?: [:], c.values), name == 'script', scope)
        }
        switch (name) {
            case 'sh':
                if (c.named?.returnStdout) return '$(' + e.script + ')'
                if (c.named?.returnStatus) return 0
                return null
            case 'fileExists': return true
            case 'readFile': return ''
            case 'readJSON': return [:]
            case 'pwd': return '${WORKSPACE}'
            case 'build': return new Expando(result: 'SUCCESS', currentResult: 'SUCCESS', number: 1, buildVariables: [:])
            default: return null
        }
    }

    Object runBlock(StepsCtx parent, Closure body, String label, boolean script, Map scope) {
        List<String> wrappers = new ArrayList(parent.@wrappers)
        wrappers << label
        StepsCtx child = new StepsCtx(out: parent.@out, wrappers: wrappers, inScript: parent.@inScript || script, where: parent.@where)
        if (scope != null) env.push(scope)
        stack.add(child)
        try {
            return Blocks.run(body, child)
        } finally {
            stack.remove(stack.size() - 1)
            if (scope != null) env.pop()
        }
    }

    Map withEnv(Call c, String where) {
        Map scope = [:]
        Object list = c.values ? c.values[0] : null
        if (!(list instanceof Collection)) throw new CheckError("withEnv takes a list of 'NAME=value' in ${where}")
        for (Object o : (Collection) list) {
            String s = o.toString()
            int i = s.indexOf('=')
            if (i <= 0) throw new CheckError("withEnv entry '${s}' is not NAME=value in ${where}")
            scope[s.substring(0, i)] = s.substring(i + 1)
        }
        return scope
    }

    // wrapper is the label a block step or stage option gives the steps it wraps,
    // e.g. lock:staging, timeout:20 MINUTES, withCredentials:aws-staging.
    static String wrapper(String name, Map named, List values) {
        Object first = values ? values[0] : null
        switch (name) {
            case 'lock':
                if (named.resource != null) return "lock:${named.resource}"
                if (named.label != null) return "lock:label=${named.label}"
                return "lock:${first}"
            case 'dir':
                return "dir:${named.path ?: first}"
            case 'retry':
                return "retry:${named.count ?: first}"
            case 'timeout':
                return "timeout:${named.time ?: first} ${named.unit ?: 'MINUTES'}"
            case 'withEnv':
                return 'withEnv:' + ((first instanceof Collection ? first : []) as List).collect { it.toString().split('=', 2)[0] }.join(',')
            case 'withCredentials':
                List ids = []
                for (Object b : (first instanceof Collection ? (Collection) first : [])) {
                    Object id = b instanceof Sym ? b.args?.credentialsId : (b instanceof Map ? b.credentialsId : null)
                    if (id != null) ids << id.toString()
                }
                return 'withCredentials:' + ids.join(',')
            default:
                return name
        }
    }

    // declared tells whether the Jenkinsfile itself defines a function of that name.
    boolean declared(String name) {
        if (name in ['run', 'main']) return false
        for (java.lang.reflect.Method m : script.getClass().getDeclaredMethods()) {
            if (m.name == name && !m.synthetic) return true
        }
        return false
    }
}

// ---------------------------------------------------------------------------------------------
// Main.

class Main {
    static int run(String path, String text, PrintStream stdout, ClassLoader loader) {
        CompilerConfiguration cfg = new CompilerConfiguration()
        cfg.scriptBaseClass = PipelineScript.name
        cfg.addCompilationCustomizers(new StepRenamer())
        Recorder rec = new Recorder(path)
        Recorder.current = rec
        GroovyShell shell = new GroovyShell(loader, rec.binding, cfg)
        try {
            rec.script = shell.parse(new GroovyCodeSource(text, Where.SCRIPT_NAME, '/groovy/shell'))
        } catch (MultipleCompilationErrorsException e) {
            for (Object m : e.errorCollector.errors) {
                if (m instanceof SyntaxErrorMessage) {
                    def cause = ((SyntaxErrorMessage) m).cause
                    System.err.println("${path}:${cause.line}:${cause.startColumn}: syntax error: ${cause.originalMessage.trim()}")
                } else if (m instanceof ExceptionMessage) {
                    System.err.println("${path}: syntax error: ${((ExceptionMessage) m).cause.message}")
                } else {
                    StringWriter w = new StringWriter()
                    m.write(new PrintWriter(w))
                    System.err.println("${path}: syntax error: ${w.toString().trim()}")
                }
            }
            return 1
        } catch (CompilationFailedException e) {
            System.err.println("${path}: syntax error: ${e.message}")
            return 1
        }
        try {
            rec.script.run()
            String json = JsonOutput.prettyPrint(JsonOutput.toJson(rec.finish()))
            stdout.println(json)
            stdout.flush()
            return 0
        } catch (Throwable t) {
            report(path, t)
            return 1
        }
    }

    static void report(String path, Throwable t) {
        String message = null
        int line = 0
        for (Throwable c = t; c != null; c = c.cause) {
            if (c instanceof CheckError) {
                message = c.message
                line = ((CheckError) c).line
                break
            }
        }
        if (message == null) {
            Throwable root = t
            while (root.cause != null && root.cause != root) root = root.cause
            message = "${root.getClass().simpleName}: ${root.message}"
            line = Where.line(root) ?: Where.line(t)
        }
        System.err.println(line > 0 ? "${path}:${line}: ${message}" : "${path}: ${message}")
    }
}

if (args.length != 1) {
    System.err.println('usage: groovy record.groovy path/to/Jenkinsfile')
    System.exit(2)
}
File file = new File(args[0])
if (!file.isFile()) {
    System.err.println("${args[0]}: no such file")
    System.exit(2)
}
// Whatever the Jenkinsfile prints goes to stderr: stdout is only the JSON record.
PrintStream stdout = System.out
System.setOut(System.err)
System.exit(Main.run(args[0], file.getText('UTF-8'), stdout, this.class.classLoader))
