package workload

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/stagehand/stagehand/shared/awserr"
	"github.com/stagehand/stagehand/shared/parallel"
	"github.com/stagehand/stagehand/shared/step"
	"github.com/stagehand/stagehand/shared/tags"
	"github.com/stagehand/stagehand/shared/wait"
)

// LoadBalancerSpec is an application load balancer.
type LoadBalancerSpec struct {
	// Name is unique in the account and region, at most 32 characters.
	Name           string
	Subnets        []string
	SecurityGroups []string
	// Internal makes it internal; the default is internet-facing.
	Internal bool
	Tags     map[string]string
}

// EnsureLoadBalancer makes the application load balancer exist (found by
// its name, and refused unless tagged with the environment) in spec's
// subnets with spec's security groups, and returns its ARN and DNS name.
// It does not wait for it to become active: see WaitLoadBalancerActive.
func (b *Builder) EnsureLoadBalancer(ctx context.Context, spec LoadBalancerSpec) (arn, dnsName string, err error) {
	scheme := elbtypes.LoadBalancerSchemeEnumInternetFacing
	if spec.Internal {
		scheme = elbtypes.LoadBalancerSchemeEnumInternal
	}
	out, err := b.ELB.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{Names: []string{spec.Name}})
	if err != nil && !awserr.NotFound(err) {
		return "", "", fmt.Errorf("describe load balancer %s: %w", spec.Name, err)
	}
	if err != nil || len(out.LoadBalancers) == 0 {
		if b.DryRun || hasPlanned(spec.Subnets) || hasPlanned(spec.SecurityGroups) {
			b.would(false, KindLoadBalancer, "", spec.Name)
			return Planned, Planned, nil
		}
		created, err := b.ELB.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{
			Name: &spec.Name, Subnets: spec.Subnets, SecurityGroups: spec.SecurityGroups,
			Scheme: scheme, Type: elbtypes.LoadBalancerTypeEnumApplication, IpAddressType: elbtypes.IpAddressTypeIpv4,
			Tags: tags.ELB(spec.Tags),
		})
		if err != nil {
			return "", "", fmt.Errorf("create load balancer %s: %w", spec.Name, err)
		}
		lb := created.LoadBalancers[0]
		arn = aws.ToString(lb.LoadBalancerArn)
		b.record(step.Created, KindLoadBalancer, arn, spec.Name)
		return arn, aws.ToString(lb.DNSName), nil
	}
	lb := out.LoadBalancers[0]
	arn, dnsName = aws.ToString(lb.LoadBalancerArn), aws.ToString(lb.DNSName)
	tm, err := elbTags(ctx, b.ELB, []string{arn})
	if err != nil {
		return "", "", err
	}
	if err := b.owned(KindLoadBalancer, arn, tm[arn]); err != nil {
		return "", "", err
	}
	if lb.Scheme != scheme {
		return "", "", fmt.Errorf("load balancer %s is %s, wanted %s: its scheme cannot change; delete it (destroy step) and run again", spec.Name, lb.Scheme, scheme)
	}
	var changes []string
	var subnets []string
	for _, az := range lb.AvailabilityZones {
		subnets = append(subnets, aws.ToString(az.SubnetId))
	}
	if !hasPlanned(spec.Subnets) && !sameSet(subnets, spec.Subnets) {
		changes = append(changes, "subnets")
		if !b.DryRun {
			if _, err := b.ELB.SetSubnets(ctx, &elb.SetSubnetsInput{LoadBalancerArn: &arn, Subnets: spec.Subnets}); err != nil {
				return "", "", fmt.Errorf("set subnets of load balancer %s: %w", spec.Name, err)
			}
		}
	}
	if !hasPlanned(spec.SecurityGroups) && !sameSet(lb.SecurityGroups, spec.SecurityGroups) {
		changes = append(changes, "security groups")
		if !b.DryRun {
			if _, err := b.ELB.SetSecurityGroups(ctx, &elb.SetSecurityGroupsInput{LoadBalancerArn: &arn, SecurityGroups: spec.SecurityGroups}); err != nil {
				return "", "", fmt.Errorf("set security groups of load balancer %s: %w", spec.Name, err)
			}
		}
	}
	b.recordChanges(KindLoadBalancer, arn, spec.Name, changes)
	return arn, dnsName, nil
}

// recordChanges records Kept when changes is empty, else Updated (or
// WouldUpdate in a dry run) with the changes.
func (b *Builder) recordChanges(kind, id, name string, changes []string) {
	switch {
	case len(changes) == 0:
		b.record(step.Kept, kind, id, name)
	case b.DryRun:
		b.would(true, kind, id, name+": "+strings.Join(changes, ", "))
	default:
		b.record(step.Updated, kind, id, name+": "+strings.Join(changes, ", "))
	}
}

// WaitLoadBalancerActive waits until the load balancer is active, bounded
// by o.Max (default 10 minutes) and the context's deadline.
func (b *Builder) WaitLoadBalancerActive(ctx context.Context, arn string, o wait.Options) error {
	if b.DryRun || arn == Planned {
		return nil
	}
	if o.Max == 0 {
		o.Max = 10 * time.Minute
	}
	return wait.Until(ctx, b.Log, wait.Target{Kind: KindLoadBalancer, ID: arn}, o, func(ctx context.Context) (bool, string, error) {
		out, err := b.ELB.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{LoadBalancerArns: []string{arn}})
		if err != nil {
			return false, "", err
		}
		if len(out.LoadBalancers) == 0 || out.LoadBalancers[0].State == nil {
			return false, "unknown", nil
		}
		st := out.LoadBalancers[0].State
		switch st.Code {
		case elbtypes.LoadBalancerStateEnumActive:
			return true, string(st.Code), nil
		case elbtypes.LoadBalancerStateEnumFailed:
			return false, "", fmt.Errorf("load balancer %s failed: %s", arn, aws.ToString(st.Reason))
		}
		return false, string(st.Code), nil
	})
}

// TargetGroupSpec is an HTTP target group of IP targets (awsvpc tasks).
type TargetGroupSpec struct {
	// Name is unique in the account and region, at most 32 characters.
	Name  string
	VPCID string
	Port  int32
	// HealthCheckPath is requested from each target (default "/").
	HealthCheckPath string
	// Matcher are the HTTP codes counted healthy (default "200-399").
	Matcher string
	// DeregistrationDelaySeconds is how long a leaving target drains (default 30).
	DeregistrationDelaySeconds int
	Tags                       map[string]string
}

// EnsureTargetGroup makes the target group exist (found by its name, and
// refused unless tagged with the environment) with spec's health check, and
// returns its ARN. A target group in another VPC is an error: its VPC
// cannot change.
func (b *Builder) EnsureTargetGroup(ctx context.Context, spec TargetGroupSpec) (string, error) {
	path, matcher := spec.HealthCheckPath, spec.Matcher
	if path == "" {
		path = "/"
	}
	if matcher == "" {
		matcher = "200-399"
	}
	delay := spec.DeregistrationDelaySeconds
	if delay == 0 {
		delay = 30
	}
	out, err := b.ELB.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{Names: []string{spec.Name}})
	if err != nil && !awserr.NotFound(err) {
		return "", fmt.Errorf("describe target group %s: %w", spec.Name, err)
	}
	if err != nil || len(out.TargetGroups) == 0 {
		if b.DryRun || spec.VPCID == Planned {
			b.would(false, KindTargetGroup, "", spec.Name)
			return Planned, nil
		}
		created, err := b.ELB.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{
			Name: &spec.Name, VpcId: &spec.VPCID, Port: aws.Int32(spec.Port),
			Protocol: elbtypes.ProtocolEnumHttp, TargetType: elbtypes.TargetTypeEnumIp,
			HealthCheckEnabled: aws.Bool(true), HealthCheckProtocol: elbtypes.ProtocolEnumHttp,
			HealthCheckPath: &path, Matcher: &elbtypes.Matcher{HttpCode: &matcher},
			Tags: tags.ELB(spec.Tags),
		})
		if err != nil {
			return "", fmt.Errorf("create target group %s: %w", spec.Name, err)
		}
		arn := aws.ToString(created.TargetGroups[0].TargetGroupArn)
		if err := b.setDeregistrationDelay(ctx, arn, delay); err != nil {
			return "", err
		}
		b.record(step.Created, KindTargetGroup, arn, spec.Name)
		return arn, nil
	}
	tg := out.TargetGroups[0]
	arn := aws.ToString(tg.TargetGroupArn)
	tm, err := elbTags(ctx, b.ELB, []string{arn})
	if err != nil {
		return "", err
	}
	if err := b.owned(KindTargetGroup, arn, tm[arn]); err != nil {
		return "", err
	}
	if spec.VPCID != Planned && aws.ToString(tg.VpcId) != spec.VPCID {
		return "", fmt.Errorf("target group %s is in %s, not in the environment's VPC %s: delete it (destroy step) and run again", spec.Name, aws.ToString(tg.VpcId), spec.VPCID)
	}
	var changes []string
	if aws.ToString(tg.HealthCheckPath) != path || tg.Matcher == nil || aws.ToString(tg.Matcher.HttpCode) != matcher {
		changes = append(changes, "health check "+path+" "+matcher)
		if !b.DryRun {
			if _, err := b.ELB.ModifyTargetGroup(ctx, &elb.ModifyTargetGroupInput{
				TargetGroupArn: &arn, HealthCheckPath: &path, Matcher: &elbtypes.Matcher{HttpCode: &matcher},
			}); err != nil {
				return "", fmt.Errorf("modify health check of target group %s: %w", spec.Name, err)
			}
		}
	}
	attrs, err := b.ELB.DescribeTargetGroupAttributes(ctx, &elb.DescribeTargetGroupAttributesInput{TargetGroupArn: &arn})
	if err != nil {
		return "", fmt.Errorf("describe attributes of target group %s: %w", spec.Name, err)
	}
	current := ""
	for _, a := range attrs.Attributes {
		if aws.ToString(a.Key) == deregistrationDelay {
			current = aws.ToString(a.Value)
		}
	}
	if current != fmt.Sprint(delay) {
		changes = append(changes, fmt.Sprintf("deregistration delay %ds", delay))
		if !b.DryRun {
			if err := b.setDeregistrationDelay(ctx, arn, delay); err != nil {
				return "", err
			}
		}
	}
	b.recordChanges(KindTargetGroup, arn, spec.Name, changes)
	return arn, nil
}

const deregistrationDelay = "deregistration_delay.timeout_seconds"

func (b *Builder) setDeregistrationDelay(ctx context.Context, arn string, seconds int) error {
	_, err := b.ELB.ModifyTargetGroupAttributes(ctx, &elb.ModifyTargetGroupAttributesInput{
		TargetGroupArn: &arn,
		Attributes:     []elbtypes.TargetGroupAttribute{{Key: aws.String(deregistrationDelay), Value: aws.String(fmt.Sprint(seconds))}},
	})
	if err != nil {
		return fmt.Errorf("set deregistration delay of target group %s: %w", arn, err)
	}
	return nil
}

// Listener ports and the TLS policy of HTTPS listeners.
const (
	// HTTPPort is where a load balancer listens for HTTP: it forwards, or,
	// with a certificate, redirects to HTTPSPort.
	HTTPPort = 80
	// HTTPSPort is where a load balancer with a certificate listens for HTTPS.
	HTTPSPort = 443
	// TLSPolicy admits TLS 1.3 and 1.2 with forward-secret ciphers only.
	TLSPolicy = "ELBSecurityPolicy-TLS13-1-2-2021-06"
)

// ListenerSpec is a listener of a load balancer: HTTP, or HTTPS when it has
// a certificate.
type ListenerSpec struct {
	LoadBalancerARN string
	Port            int32
	// CertificateARN makes it an HTTPS listener with that (ACM) certificate
	// and TLSPolicy; empty: HTTP.
	CertificateARN string
	// RedirectHTTPS answers every request with a permanent redirect (301)
	// to the same URL over HTTPS on HTTPSPort, instead of forwarding.
	RedirectHTTPS bool
	// DefaultTargetGroupARN receives what no rule matches; when empty the
	// listener answers 404 itself.
	DefaultTargetGroupARN string
	Tags                  map[string]string
}

func (s ListenerSpec) protocol() elbtypes.ProtocolEnum {
	if s.CertificateARN != "" {
		return elbtypes.ProtocolEnumHttps
	}
	return elbtypes.ProtocolEnumHttp
}

func (s ListenerSpec) name() string { return fmt.Sprintf("%s :%d", s.protocol(), s.Port) }

func (s ListenerSpec) defaultActions() []elbtypes.Action {
	switch {
	case s.RedirectHTTPS:
		return []elbtypes.Action{{Type: elbtypes.ActionTypeEnumRedirect, RedirectConfig: &elbtypes.RedirectActionConfig{
			Protocol: aws.String("HTTPS"), Port: aws.String(fmt.Sprint(HTTPSPort)), StatusCode: elbtypes.RedirectActionStatusCodeEnumHttp301,
		}}}
	case s.DefaultTargetGroupARN != "":
		return []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(s.DefaultTargetGroupARN)}}
	}
	return []elbtypes.Action{{Type: elbtypes.ActionTypeEnumFixedResponse, FixedResponseConfig: &elbtypes.FixedResponseActionConfig{
		StatusCode: aws.String("404"), ContentType: aws.String("text/plain"), MessageBody: aws.String("no service answers here\n"),
	}}}
}

// EnsureListener makes the listener on spec.Port of the load balancer exist
// with spec's protocol, certificate and default action, and returns its ARN.
func (b *Builder) EnsureListener(ctx context.Context, spec ListenerSpec) (string, error) {
	if spec.LoadBalancerARN == Planned {
		return b.ensureListener(ctx, spec, nil)
	}
	byPort, err := b.listenersOf(ctx, spec.LoadBalancerARN)
	if err != nil {
		return "", err
	}
	return b.ensureListener(ctx, spec, byPort[spec.Port])
}

// listenersOf returns the listeners of a load balancer by port.
func (b *Builder) listenersOf(ctx context.Context, lbARN string) (map[int32]*elbtypes.Listener, error) {
	byPort := map[int32]*elbtypes.Listener{}
	p := elb.NewDescribeListenersPaginator(b.ELB, &elb.DescribeListenersInput{LoadBalancerArn: &lbARN})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe listeners of %s: %w", lbARN, err)
		}
		for i := range page.Listeners {
			byPort[aws.ToInt32(page.Listeners[i].Port)] = &page.Listeners[i]
		}
	}
	return byPort, nil
}

// ensureListener creates spec's listener when found is nil, else corrects
// found where it differs from spec.
func (b *Builder) ensureListener(ctx context.Context, spec ListenerSpec, found *elbtypes.Listener) (string, error) {
	name := spec.name()
	if spec.LoadBalancerARN == Planned {
		b.would(false, KindListener, "", name)
		return Planned, nil
	}
	want := spec.defaultActions()
	var certs []elbtypes.Certificate
	var policy *string
	if spec.CertificateARN != "" {
		certs, policy = []elbtypes.Certificate{{CertificateArn: aws.String(spec.CertificateARN)}}, aws.String(TLSPolicy)
	}
	if found == nil {
		if b.DryRun || (!spec.RedirectHTTPS && spec.DefaultTargetGroupARN == Planned) {
			b.would(false, KindListener, "", name)
			return Planned, nil
		}
		out, err := b.ELB.CreateListener(ctx, &elb.CreateListenerInput{
			LoadBalancerArn: &spec.LoadBalancerARN, Port: aws.Int32(spec.Port), Protocol: spec.protocol(),
			Certificates: certs, SslPolicy: policy, DefaultActions: want, Tags: tags.ELB(spec.Tags),
		})
		if err != nil {
			return "", fmt.Errorf("create listener %s on %s: %w", name, spec.LoadBalancerARN, err)
		}
		arn := aws.ToString(out.Listeners[0].ListenerArn)
		b.record(step.Created, KindListener, arn, name)
		return arn, nil
	}
	arn := aws.ToString(found.ListenerArn)
	var changes []string
	if found.Protocol != spec.protocol() {
		changes = append(changes, "protocol "+string(spec.protocol()))
	}
	if spec.CertificateARN != "" {
		if len(found.Certificates) == 0 || aws.ToString(found.Certificates[0].CertificateArn) != spec.CertificateARN {
			changes = append(changes, "certificate")
		}
		if aws.ToString(found.SslPolicy) != TLSPolicy {
			changes = append(changes, "TLS policy "+TLSPolicy)
		}
	}
	if actionKey(found.DefaultActions) != actionKey(want) {
		changes = append(changes, "default action")
	}
	if len(changes) > 0 && !b.DryRun {
		// The whole listener as it should be: a change of protocol takes
		// the certificate and policy with it.
		if _, err := b.ELB.ModifyListener(ctx, &elb.ModifyListenerInput{
			ListenerArn: &arn, Protocol: spec.protocol(), Certificates: certs, SslPolicy: policy, DefaultActions: want,
		}); err != nil {
			return "", fmt.Errorf("modify listener %s: %w", arn, err)
		}
	}
	b.recordChanges(KindListener, arn, name, changes)
	return arn, nil
}

// removeListener deletes a listener (its rules go with it); one already
// gone counts as deleted.
func (b *Builder) removeListener(ctx context.Context, l *elbtypes.Listener) error {
	arn := aws.ToString(l.ListenerArn)
	name := fmt.Sprintf("%s :%d", l.Protocol, aws.ToInt32(l.Port))
	if b.DryRun {
		b.record(step.WouldDelete, KindListener, arn, name)
		return nil
	}
	if _, err := b.ELB.DeleteListener(ctx, &elb.DeleteListenerInput{ListenerArn: &arn}); err != nil && !awserr.NotFound(err) {
		return fmt.Errorf("delete listener %s: %w", arn, err)
	}
	b.record(step.Deleted, KindListener, arn, name)
	return nil
}

// clearRules deletes every rule of a listener but its default one.
func (b *Builder) clearRules(ctx context.Context, listenerARN string) error {
	p := elb.NewDescribeRulesPaginator(b.ELB, &elb.DescribeRulesInput{ListenerArn: &listenerARN})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("describe rules of listener %s: %w", listenerARN, err)
		}
		for _, r := range page.Rules {
			if aws.ToBool(r.IsDefault) {
				continue
			}
			arn := aws.ToString(r.RuleArn)
			if b.DryRun {
				b.record(step.WouldDelete, KindListenerRule, arn, ruleName(r))
				continue
			}
			if _, err := b.ELB.DeleteRule(ctx, &elb.DeleteRuleInput{RuleArn: &arn}); err != nil && !awserr.NotFound(err) {
				return fmt.Errorf("delete listener rule %s: %w", arn, err)
			}
			b.record(step.Deleted, KindListenerRule, arn, ruleName(r))
		}
	}
	return nil
}

// ruleName describes an existing rule the way RuleSpec.describe does: its
// hosts and paths.
func ruleName(r elbtypes.Rule) string {
	var hosts, paths []string
	for _, c := range r.Conditions {
		switch {
		case c.HostHeaderConfig != nil:
			hosts = append(hosts, c.HostHeaderConfig.Values...)
		case c.PathPatternConfig != nil:
			paths = append(paths, c.PathPatternConfig.Values...)
		case aws.ToString(c.Field) == "host-header":
			hosts = append(hosts, c.Values...)
		default:
			paths = append(paths, c.Values...)
		}
	}
	return RuleSpec{HostHeaders: hosts, PathPatterns: paths}.describe()
}

// ListenersSpec is how clients reach what a load balancer serves. Without
// a certificate: HTTP on HTTPPort, which forwards. With one: HTTPS on
// HTTPSPort, which forwards, and HTTP on HTTPPort, which redirects every
// request to it and carries no rules.
type ListenersSpec struct {
	LoadBalancerARN string
	// CertificateARN is the ACM certificate of the HTTPS listener; empty:
	// no HTTPS (an HTTPS listener left from an earlier run is deleted).
	CertificateARN string
	// DefaultTargetGroupARN receives what no rule matches; when empty the
	// forwarding listener answers 404 itself.
	DefaultTargetGroupARN string
	// Rules are the forwarding listener's rules.
	Rules []RuleSpec
	// HTTPTags and HTTPSTags tag the listeners when they are created.
	HTTPTags, HTTPSTags map[string]string
}

// Listeners is what EnsureListeners made.
type Listeners struct {
	// ARN is the listener that forwards: HTTPS with a certificate, else HTTP.
	ARN string
	// RedirectARN is the HTTP listener that redirects to HTTPS (with a
	// certificate only).
	RedirectARN string
	// RuleARNs are the rules of spec.Rules on ARN, in spec's order.
	RuleARNs []string
}

// EnsureListeners makes the load balancer's listeners match spec, in an
// order that keeps the forwarding going while it converges: adding a
// certificate creates the HTTPS listener and its rules before HTTP turns
// into a redirect (and loses its rules); removing it makes HTTP forward
// (with the rules) before the HTTPS listener is deleted.
func (b *Builder) EnsureListeners(ctx context.Context, spec ListenersSpec) (Listeners, error) {
	byPort := map[int32]*elbtypes.Listener{}
	if spec.LoadBalancerARN != Planned {
		var err error
		if byPort, err = b.listenersOf(ctx, spec.LoadBalancerARN); err != nil {
			return Listeners{}, err
		}
	}
	plain := ListenerSpec{LoadBalancerARN: spec.LoadBalancerARN, Port: HTTPPort, DefaultTargetGroupARN: spec.DefaultTargetGroupARN, Tags: spec.HTTPTags}
	var out Listeners
	var err error
	if spec.CertificateARN == "" {
		if out.ARN, err = b.ensureListener(ctx, plain, byPort[HTTPPort]); err != nil {
			return out, err
		}
		if out.RuleARNs, err = b.ensureRules(ctx, out.ARN, spec.Rules); err != nil {
			return out, err
		}
		if l := byPort[HTTPSPort]; l != nil {
			err = b.removeListener(ctx, l)
		}
		return out, err
	}
	secure := ListenerSpec{
		LoadBalancerARN: spec.LoadBalancerARN, Port: HTTPSPort, CertificateARN: spec.CertificateARN,
		DefaultTargetGroupARN: spec.DefaultTargetGroupARN, Tags: spec.HTTPSTags,
	}
	if out.ARN, err = b.ensureListener(ctx, secure, byPort[HTTPSPort]); err != nil {
		return out, err
	}
	if out.RuleARNs, err = b.ensureRules(ctx, out.ARN, spec.Rules); err != nil {
		return out, err
	}
	plain.RedirectHTTPS = true
	if out.RedirectARN, err = b.ensureListener(ctx, plain, byPort[HTTPPort]); err != nil {
		return out, err
	}
	if byPort[HTTPPort] != nil {
		err = b.clearRules(ctx, out.RedirectARN)
	}
	return out, err
}

// Scheme is the scheme of a load balancer's URLs: https when
// EnsureListeners gave it certificateARN, else http.
func Scheme(certificateARN string) string {
	if certificateARN != "" {
		return "https"
	}
	return "http"
}

// ListenerIngress admits cidrs to the ports EnsureListeners listens on:
// HTTPPort, and HTTPSPort with a certificate. from says who they are, for
// the rules' descriptions.
func ListenerIngress(cidrs []string, certificateARN, from string) []IngressRule {
	var in []IngressRule
	for _, c := range cidrs {
		in = append(in, IngressRule{CIDR: c, FromPort: HTTPPort, Description: "HTTP from " + from})
		if certificateARN != "" {
			in = append(in, IngressRule{CIDR: c, FromPort: HTTPSPort, Description: "HTTPS from " + from})
		}
	}
	return in
}

func (b *Builder) ensureRules(ctx context.Context, listenerARN string, specs []RuleSpec) ([]string, error) {
	if len(specs) == 0 {
		return nil, nil
	}
	return b.EnsureListenerRules(ctx, listenerARN, specs)
}

// actionKey sums up what actions do: forward to which target group,
// redirect where, or answer with which status.
func actionKey(as []elbtypes.Action) string {
	var parts []string
	for _, a := range as {
		switch {
		case a.Type == elbtypes.ActionTypeEnumForward:
			parts = append(parts, "forward "+forwardTarget(a))
		case a.RedirectConfig != nil:
			rc := a.RedirectConfig
			parts = append(parts, fmt.Sprintf("%s %s:%s %s", a.Type, aws.ToString(rc.Protocol), aws.ToString(rc.Port), rc.StatusCode))
		case a.FixedResponseConfig != nil:
			parts = append(parts, string(a.Type)+" "+aws.ToString(a.FixedResponseConfig.StatusCode))
		default:
			parts = append(parts, string(a.Type))
		}
	}
	return strings.Join(parts, ";")
}

// forwardTarget is the target group a forward action sends to ("" when it
// weighs several).
func forwardTarget(a elbtypes.Action) string {
	if a.TargetGroupArn != nil {
		return *a.TargetGroupArn
	}
	if a.ForwardConfig != nil && len(a.ForwardConfig.TargetGroups) == 1 {
		return aws.ToString(a.ForwardConfig.TargetGroups[0].TargetGroupArn)
	}
	return ""
}

// RuleSpec is a listener rule that forwards what matches to one target
// group: requests whose path matches one of PathPatterns (and, when set,
// whose host matches one of HostHeaders).
type RuleSpec struct {
	TargetGroupARN string
	PathPatterns   []string
	HostHeaders    []string
	Tags           map[string]string
}

func (r RuleSpec) conditions() []elbtypes.RuleCondition {
	var cs []elbtypes.RuleCondition
	if len(r.PathPatterns) > 0 {
		cs = append(cs, elbtypes.RuleCondition{Field: aws.String("path-pattern"), PathPatternConfig: &elbtypes.PathPatternConditionConfig{Values: r.PathPatterns}})
	}
	if len(r.HostHeaders) > 0 {
		cs = append(cs, elbtypes.RuleCondition{Field: aws.String("host-header"), HostHeaderConfig: &elbtypes.HostHeaderConditionConfig{Values: r.HostHeaders}})
	}
	return cs
}

func (r RuleSpec) describe() string {
	d := strings.Join(r.PathPatterns, " ")
	if len(r.HostHeaders) > 0 {
		d = strings.Join(r.HostHeaders, " ") + " " + d
	}
	return d
}

// conditionKey sums up conditions, whichever way the API spelled them.
func conditionKey(cs []elbtypes.RuleCondition) string {
	var parts []string
	for _, c := range cs {
		vals := c.Values
		if c.PathPatternConfig != nil && len(c.PathPatternConfig.Values) > 0 {
			vals = c.PathPatternConfig.Values
		}
		if c.HostHeaderConfig != nil && len(c.HostHeaderConfig.Values) > 0 {
			vals = c.HostHeaderConfig.Values
		}
		parts = append(parts, aws.ToString(c.Field)+"="+strings.Join(sorted(vals), ","))
	}
	sort.Strings(parts)
	return strings.Join(parts, ";")
}

// EnsureListenerRules makes one rule per spec on the listener, each
// forwarding to its target group, and returns their ARNs in specs' order.
// A rule is found again by the target group it forwards to (its
// conditions are corrected if they differ); new rules get the lowest
// priorities that are free, decided before any is created so that they
// can be created side by side.
func (b *Builder) EnsureListenerRules(ctx context.Context, listenerARN string, specs []RuleSpec) ([]string, error) {
	arns := make([]string, len(specs))
	if listenerARN == Planned {
		for i, s := range specs {
			b.would(false, KindListenerRule, "", s.describe())
			arns[i] = Planned
		}
		return arns, nil
	}
	byTarget := map[string]elbtypes.Rule{}
	used := map[int]bool{}
	p := elb.NewDescribeRulesPaginator(b.ELB, &elb.DescribeRulesInput{ListenerArn: &listenerARN})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe rules of listener %s: %w", listenerARN, err)
		}
		for _, r := range page.Rules {
			if aws.ToBool(r.IsDefault) {
				continue
			}
			var prio int
			fmt.Sscan(aws.ToString(r.Priority), &prio)
			used[prio] = true
			for _, a := range r.Actions {
				if t := forwardTarget(a); a.Type == elbtypes.ActionTypeEnumForward && t != "" {
					byTarget[t] = r
				}
			}
		}
	}
	priorities := make([]int32, len(specs))
	next := 1
	for i, s := range specs {
		if _, ok := byTarget[s.TargetGroupARN]; ok {
			continue
		}
		for used[next] {
			next++
		}
		priorities[i], used[next] = int32(next), true
	}
	err := parallel.Do(ctx, 4, len(specs), func(ctx context.Context, i int) error {
		s := specs[i]
		if r, ok := byTarget[s.TargetGroupARN]; ok {
			arns[i] = aws.ToString(r.RuleArn)
			var changes []string
			if conditionKey(r.Conditions) != conditionKey(s.conditions()) {
				changes = append(changes, "conditions")
				if !b.DryRun {
					if _, err := b.ELB.ModifyRule(ctx, &elb.ModifyRuleInput{RuleArn: r.RuleArn, Conditions: s.conditions()}); err != nil {
						return fmt.Errorf("modify listener rule %s: %w", arns[i], err)
					}
				}
			}
			b.recordChanges(KindListenerRule, arns[i], s.describe(), changes)
			return nil
		}
		if b.DryRun || s.TargetGroupARN == Planned {
			b.would(false, KindListenerRule, "", s.describe())
			arns[i] = Planned
			return nil
		}
		out, err := b.ELB.CreateRule(ctx, &elb.CreateRuleInput{
			ListenerArn: &listenerARN, Priority: aws.Int32(priorities[i]), Conditions: s.conditions(),
			Actions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(s.TargetGroupARN)}},
			Tags:    tags.ELB(s.Tags),
		})
		if err != nil {
			return fmt.Errorf("create listener rule %s (priority %d): %w", s.describe(), priorities[i], err)
		}
		arns[i] = aws.ToString(out.Rules[0].RuleArn)
		b.record(step.Created, KindListenerRule, arns[i], s.describe())
		return nil
	})
	return arns, err
}

// elbTagBatch is the most resources one DescribeTags call takes.
const elbTagBatch = 20

// elbTags returns the tags of each of arns.
func elbTags(ctx context.Context, api ELBAPI, arns []string) (map[string]map[string]string, error) {
	out := map[string]map[string]string{}
	for start := 0; start < len(arns); start += elbTagBatch {
		batch := arns[start:min(start+elbTagBatch, len(arns))]
		resp, err := api.DescribeTags(ctx, &elb.DescribeTagsInput{ResourceArns: batch})
		if err != nil {
			return nil, fmt.Errorf("describe tags of %s: %w", strings.Join(batch, ", "), err)
		}
		for _, d := range resp.TagDescriptions {
			out[aws.ToString(d.ResourceArn)] = tags.FromELB(d.Tags)
		}
	}
	return out, nil
}

func hasPlanned(ids []string) bool {
	for _, id := range ids {
		if id == Planned {
			return true
		}
	}
	return false
}
