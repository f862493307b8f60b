package workload

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/stagehand/stagehand/shared/step"
	"github.com/stagehand/stagehand/shared/tags"
)

// fakeListeners is one load balancer's listeners and their rules, kept the
// way ELB describes them.
type fakeListeners struct {
	ELBAPI
	mu        sync.Mutex
	listeners []elbtypes.Listener
	rules     map[string][]elbtypes.Rule // listener ARN -> rules (no default)
	n         int
	changes   []string // the calls that changed something
}

func newFakeListeners() *fakeListeners { return &fakeListeners{rules: map[string][]elbtypes.Rule{}} }

func (f *fakeListeners) DescribeListeners(_ context.Context, in *elb.DescribeListenersInput, _ ...func(*elb.Options)) (*elb.DescribeListenersOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return &elb.DescribeListenersOutput{Listeners: append([]elbtypes.Listener(nil), f.listeners...)}, nil
}

func (f *fakeListeners) CreateListener(_ context.Context, in *elb.CreateListenerInput, _ ...func(*elb.Options)) (*elb.CreateListenerOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, l := range f.listeners {
		if aws.ToInt32(l.Port) == aws.ToInt32(in.Port) {
			return nil, apiErr("DuplicateListener")
		}
	}
	if in.Protocol == elbtypes.ProtocolEnumHttps && len(in.Certificates) != 1 {
		return nil, apiErr("ValidationError")
	}
	f.n++
	l := elbtypes.Listener{ListenerArn: aws.String(fmt.Sprintf("listener-%d", f.n)), LoadBalancerArn: in.LoadBalancerArn, Port: in.Port,
		Protocol: in.Protocol, Certificates: in.Certificates, SslPolicy: in.SslPolicy, DefaultActions: in.DefaultActions}
	f.listeners = append(f.listeners, l)
	f.changes = append(f.changes, fmt.Sprintf("create %s:%d", in.Protocol, aws.ToInt32(in.Port)))
	return &elb.CreateListenerOutput{Listeners: []elbtypes.Listener{l}}, nil
}

func (f *fakeListeners) ModifyListener(_ context.Context, in *elb.ModifyListenerInput, _ ...func(*elb.Options)) (*elb.ModifyListenerOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.listeners {
		l := &f.listeners[i]
		if aws.ToString(l.ListenerArn) != aws.ToString(in.ListenerArn) {
			continue
		}
		if in.Protocol != "" {
			l.Protocol = in.Protocol
		}
		if l.Protocol == elbtypes.ProtocolEnumHttp {
			l.Certificates, l.SslPolicy = nil, nil
		}
		if in.Certificates != nil {
			l.Certificates = in.Certificates
		}
		if in.SslPolicy != nil {
			l.SslPolicy = in.SslPolicy
		}
		if in.DefaultActions != nil {
			l.DefaultActions = in.DefaultActions
		}
		f.changes = append(f.changes, fmt.Sprintf("modify %d", aws.ToInt32(l.Port)))
		return &elb.ModifyListenerOutput{Listeners: []elbtypes.Listener{*l}}, nil
	}
	return nil, apiErr("ListenerNotFound")
}

func (f *fakeListeners) DeleteListener(_ context.Context, in *elb.DeleteListenerInput, _ ...func(*elb.Options)) (*elb.DeleteListenerOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, l := range f.listeners {
		if aws.ToString(l.ListenerArn) == aws.ToString(in.ListenerArn) {
			f.listeners = append(f.listeners[:i], f.listeners[i+1:]...)
			delete(f.rules, aws.ToString(in.ListenerArn))
			f.changes = append(f.changes, fmt.Sprintf("delete %d", aws.ToInt32(l.Port)))
			return &elb.DeleteListenerOutput{}, nil
		}
	}
	return nil, apiErr("ListenerNotFound")
}

func (f *fakeListeners) DescribeRules(_ context.Context, in *elb.DescribeRulesInput, _ ...func(*elb.Options)) (*elb.DescribeRulesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	rs := []elbtypes.Rule{{IsDefault: aws.Bool(true), Priority: aws.String("default")}}
	return &elb.DescribeRulesOutput{Rules: append(rs, f.rules[aws.ToString(in.ListenerArn)]...)}, nil
}

func (f *fakeListeners) CreateRule(_ context.Context, in *elb.CreateRuleInput, _ ...func(*elb.Options)) (*elb.CreateRuleOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	arn := aws.ToString(in.ListenerArn)
	f.n++
	r := elbtypes.Rule{RuleArn: aws.String(fmt.Sprintf("%s/rule-%d", arn, f.n)), Priority: aws.String(fmt.Sprint(aws.ToInt32(in.Priority))),
		Conditions: in.Conditions, Actions: in.Actions}
	f.rules[arn] = append(f.rules[arn], r)
	f.changes = append(f.changes, "create rule on "+f.portOf(arn))
	return &elb.CreateRuleOutput{Rules: []elbtypes.Rule{r}}, nil
}

func (f *fakeListeners) DeleteRule(_ context.Context, in *elb.DeleteRuleInput, _ ...func(*elb.Options)) (*elb.DeleteRuleOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for l, rs := range f.rules {
		for i, r := range rs {
			if aws.ToString(r.RuleArn) == aws.ToString(in.RuleArn) {
				f.rules[l] = append(rs[:i], rs[i+1:]...)
				f.changes = append(f.changes, "delete rule on "+f.portOf(l))
				return &elb.DeleteRuleOutput{}, nil
			}
		}
	}
	return nil, apiErr("RuleNotFound")
}

func (f *fakeListeners) portOf(arn string) string {
	for _, l := range f.listeners {
		if aws.ToString(l.ListenerArn) == arn {
			return fmt.Sprint(aws.ToInt32(l.Port))
		}
	}
	return "?"
}

// state sums up the listeners: PORT PROTOCOL [certificate policy] default
// action, and the target groups of its rules.
func (f *fakeListeners) state() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, l := range f.listeners {
		s := fmt.Sprintf("%d %s", aws.ToInt32(l.Port), l.Protocol)
		for _, c := range l.Certificates {
			s += " " + aws.ToString(c.CertificateArn) + " " + aws.ToString(l.SslPolicy)
		}
		s += " → " + actionKey(l.DefaultActions)
		var tgs []string
		for _, r := range f.rules[aws.ToString(l.ListenerArn)] {
			tgs = append(tgs, forwardTarget(r.Actions[0]))
		}
		sort.Strings(tgs)
		if len(tgs) > 0 {
			s += " rules " + strings.Join(tgs, ",")
		}
		out = append(out, s)
	}
	sort.Strings(out)
	return strings.Join(out, " | ")
}

func TestEnsureListeners(t *testing.T) {
	const redirect = "redirect HTTPS:443 HTTP_301"
	rules := []RuleSpec{{TargetGroupARN: "tg-web", PathPatterns: PathPatterns("web")}, {TargetGroupARN: "tg-api", PathPatterns: PathPatterns("api")}}
	services := func(cert string) ListenersSpec {
		return ListenersSpec{LoadBalancerARN: "lb", CertificateARN: cert, Rules: rules}
	}
	jenkins := func(cert string) ListenersSpec {
		return ListenersSpec{LoadBalancerARN: "lb", CertificateARN: cert, DefaultTargetGroupARN: "tg-jenkins"}
	}
	// Each step runs on what the steps before it left; a second run of the
	// same spec must change nothing.
	type stepCase struct {
		name        string
		spec        ListenersSpec
		wantState   string
		wantChanges string
	}
	tests := []struct {
		name  string
		steps []stepCase
	}{
		{"services", []stepCase{
			{"http only", services(""), "80 HTTP → fixed-response 404 rules tg-api,tg-web",
				"create HTTP:80, create rule on 80, create rule on 80"},
			{"add certificate", services("cert-1"), "443 HTTPS cert-1 " + TLSPolicy + " → fixed-response 404 rules tg-api,tg-web | 80 HTTP → " + redirect,
				"create HTTPS:443, create rule on 443, create rule on 443, modify 80, delete rule on 80, delete rule on 80"},
			{"renewed certificate", services("cert-2"), "443 HTTPS cert-2 " + TLSPolicy + " → fixed-response 404 rules tg-api,tg-web | 80 HTTP → " + redirect,
				"modify 443"},
			{"remove certificate", services(""), "80 HTTP → fixed-response 404 rules tg-api,tg-web",
				"modify 80, create rule on 80, create rule on 80, delete 443"},
		}},
		{"jenkins", []stepCase{
			{"certificate from the start", jenkins("cert-1"), "443 HTTPS cert-1 " + TLSPolicy + " → forward tg-jenkins | 80 HTTP → " + redirect,
				"create HTTPS:443, create HTTP:80"},
			{"remove certificate", jenkins(""), "80 HTTP → forward tg-jenkins", "modify 80, delete 443"},
			{"add certificate", jenkins("cert-1"), "443 HTTPS cert-1 " + TLSPolicy + " → forward tg-jenkins | 80 HTTP → " + redirect,
				"create HTTPS:443, modify 80"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeListeners()
			b := &Builder{ELB: f, Env: "env", Log: quietLog(), Summary: &step.Summary{}}
			for _, s := range tt.steps {
				f.changes = nil
				ls, err := b.EnsureListeners(context.Background(), s.spec)
				if err != nil {
					t.Fatalf("%s: %v", s.name, err)
				}
				if got := f.state(); got != s.wantState {
					t.Errorf("%s: listeners\n  %s\nwant\n  %s", s.name, got, s.wantState)
				}
				// Rules are created side by side: compare the calls as a set, in
				// the order of their kinds.
				if got := strings.Join(f.changes, ", "); !sameCalls(got, s.wantChanges) {
					t.Errorf("%s: calls %s, want %s", s.name, got, s.wantChanges)
				}
				forwarding := f.listeners[0]
				for _, l := range f.listeners {
					if aws.ToInt32(l.Port) == HTTPSPort {
						forwarding = l
					}
				}
				if ls.ARN != aws.ToString(forwarding.ListenerArn) || len(ls.RuleARNs) != len(s.spec.Rules) ||
					(s.spec.CertificateARN != "") != (ls.RedirectARN != "") {
					t.Errorf("%s: returned %+v", s.name, ls)
				}
				for i, arn := range ls.RuleARNs {
					if !strings.HasPrefix(arn, ls.ARN+"/") {
						t.Errorf("%s: rule %d is %s, not on the forwarding listener %s", s.name, i, arn, ls.ARN)
					}
				}
				f.changes = nil
				if _, err := b.EnsureListeners(context.Background(), s.spec); err != nil || len(f.changes) > 0 {
					t.Errorf("%s again: %v, calls %v", s.name, err, f.changes)
				}
			}
		})
	}
}

// sameCalls compares comma-separated calls as multisets.
func sameCalls(a, b string) bool {
	x, y := strings.Split(a, ", "), strings.Split(b, ", ")
	sort.Strings(x)
	sort.Strings(y)
	return strings.Join(x, ",") == strings.Join(y, ",")
}

func TestEnsureListenersDryRun(t *testing.T) {
	f := newFakeListeners()
	b := &Builder{ELB: f, Env: "env", Log: quietLog(), Summary: &step.Summary{}}
	spec := ListenersSpec{LoadBalancerARN: "lb", Rules: []RuleSpec{{TargetGroupARN: "tg-web", PathPatterns: PathPatterns("web")}}}
	if _, err := b.EnsureListeners(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	before := f.state()

	// Adding a certificate, in a dry run: a plan, no change.
	sum := &step.Summary{}
	dry := &Builder{ELB: f, Env: "env", Log: quietLog(), Summary: sum, DryRun: true}
	spec.CertificateARN = "cert-1"
	f.changes = nil
	if _, err := dry.EnsureListeners(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	if f.state() != before || len(f.changes) != 0 {
		t.Fatalf("dry run changed the listeners: %s (calls %v)", f.state(), f.changes)
	}
	// HTTPS listener and its rule would be created, HTTP would redirect, its rule would go.
	if sum.Count(step.WouldCreate) != 2 || sum.Count(step.WouldUpdate) != 1 || sum.Count(step.WouldDelete) != 1 {
		t.Errorf("dry run summary %+v", sum.Items())
	}

	// Removing it again, in a dry run, from HTTPS: the HTTPS listener would go.
	if _, err := b.EnsureListeners(context.Background(), spec); err != nil {
		t.Fatal(err)
	}
	sum = &step.Summary{}
	dry.Summary = sum
	spec.CertificateARN = ""
	f.changes = nil
	if _, err := dry.EnsureListeners(context.Background(), spec); err != nil || len(f.changes) != 0 {
		t.Fatalf("dry run: %v, calls %v", err, f.changes)
	}
	if sum.Count(step.WouldDelete) != 1 || sum.Count(step.WouldUpdate) != 1 || sum.Count(step.WouldCreate) != 1 {
		t.Errorf("dry run summary %+v", sum.Items())
	}

	// A load balancer that does not exist yet: everything would be created.
	sum = &step.Summary{}
	dry.Summary = sum
	spec.LoadBalancerARN, spec.CertificateARN = Planned, "cert-1"
	ls, err := dry.EnsureListeners(context.Background(), spec)
	if err != nil || ls.ARN != Planned || ls.RuleARNs[0] != Planned || sum.Count(step.WouldCreate) != 3 {
		t.Errorf("planned load balancer: %+v %v, summary %+v", ls, err, sum.Items())
	}
}

func TestListenerIngress(t *testing.T) {
	perm := func(port int32, cidr string) ec2types.IpPermission {
		return ec2types.IpPermission{IpProtocol: aws.String("tcp"), FromPort: aws.Int32(port), ToPort: aws.Int32(port),
			IpRanges: []ec2types.IpRange{{CidrIp: aws.String(cidr)}}}
	}
	ports := func(ps []ec2types.IpPermission) string {
		var out []string
		for _, p := range ps {
			out = append(out, fmt.Sprintf("%d %s", aws.ToInt32(p.FromPort), aws.ToString(p.IpRanges[0].CidrIp)))
		}
		sort.Strings(out)
		return strings.Join(out, ",")
	}
	cidrs := []string{"10.0.0.0/8", "192.0.2.0/24"}
	tests := []struct {
		name         string
		has          []ec2types.IpPermission
		cert         string
		added, revok string
	}{
		{"http stays http", []ec2types.IpPermission{perm(80, "10.0.0.0/8"), perm(80, "192.0.2.0/24")}, "", "", ""},
		{"certificate added", []ec2types.IpPermission{perm(80, "10.0.0.0/8"), perm(80, "192.0.2.0/24")}, "cert", "443 10.0.0.0/8,443 192.0.2.0/24", ""},
		{"certificate kept", []ec2types.IpPermission{perm(80, "10.0.0.0/8"), perm(443, "10.0.0.0/8"), perm(80, "192.0.2.0/24"), perm(443, "192.0.2.0/24")}, "cert", "", ""},
		{"certificate removed", []ec2types.IpPermission{perm(80, "10.0.0.0/8"), perm(443, "10.0.0.0/8"), perm(80, "192.0.2.0/24"), perm(443, "192.0.2.0/24")}, "", "", "443 10.0.0.0/8,443 192.0.2.0/24"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeGroups{group: ec2types.SecurityGroup{
				GroupId: aws.String("sg-lb"), GroupName: aws.String("env-jenkins-lb"), VpcId: aws.String("vpc-1"),
				Tags: tags.EC2(map[string]string{tags.Env: "env"}), IpPermissions: tt.has,
			}}
			sum := &step.Summary{}
			b := &Builder{EC2: f, Env: "env", Log: quietLog(), Summary: sum}
			if _, err := b.EnsureSecurityGroup(context.Background(), "vpc-1", "env-jenkins-lb", "d", ListenerIngress(cidrs, tt.cert, "test"), nil); err != nil {
				t.Fatal(err)
			}
			if got := ports(f.added); got != tt.added {
				t.Errorf("added %q, want %q", got, tt.added)
			}
			if got := ports(f.revoked); got != tt.revok {
				t.Errorf("revoked %q, want %q", got, tt.revok)
			}
			if changed := tt.added != "" || tt.revok != ""; (sum.Count(step.Updated) == 1) != changed || (sum.Count(step.Kept) == 1) == changed {
				t.Errorf("summary %+v", sum.Items())
			}
		})
	}
}

// A listener changed by hand (an older TLS policy, HTTP on 443) is put back.
func TestEnsureListenersCorrects(t *testing.T) {
	tests := []struct {
		name  string
		has   elbtypes.Listener
		state string
	}{
		{"old TLS policy", elbtypes.Listener{Port: aws.Int32(443), Protocol: elbtypes.ProtocolEnumHttps, SslPolicy: aws.String("ELBSecurityPolicy-2016-08"),
			Certificates: []elbtypes.Certificate{{CertificateArn: aws.String("cert-1")}}, DefaultActions: ListenerSpec{DefaultTargetGroupARN: "tg"}.defaultActions()},
			"443 HTTPS cert-1 " + TLSPolicy + " → forward tg | 80 HTTP → redirect HTTPS:443 HTTP_301"},
		{"plain HTTP on 443", elbtypes.Listener{Port: aws.Int32(443), Protocol: elbtypes.ProtocolEnumHttp, DefaultActions: ListenerSpec{DefaultTargetGroupARN: "tg"}.defaultActions()},
			"443 HTTPS cert-1 " + TLSPolicy + " → forward tg | 80 HTTP → redirect HTTPS:443 HTTP_301"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeListeners()
			tt.has.ListenerArn = aws.String("listener-0")
			f.listeners = []elbtypes.Listener{tt.has}
			sum := &step.Summary{}
			b := &Builder{ELB: f, Env: "env", Log: quietLog(), Summary: sum}
			if _, err := b.EnsureListeners(context.Background(), ListenersSpec{LoadBalancerARN: "lb", CertificateARN: "cert-1", DefaultTargetGroupARN: "tg"}); err != nil {
				t.Fatal(err)
			}
			if got := f.state(); got != tt.state {
				t.Errorf("listeners %s, want %s", got, tt.state)
			}
			if sum.Count(step.Updated) != 1 || sum.Count(step.Created) != 1 {
				t.Errorf("summary %+v", sum.Items())
			}
		})
	}
}
