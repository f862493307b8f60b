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

// ListenerSpec is an HTTP listener of a load balancer.
type ListenerSpec struct {
	LoadBalancerARN string
	Port            int32
	// DefaultTargetGroupARN receives what no rule matches; when empty the
	// listener answers 404 itself.
	DefaultTargetGroupARN string
	Tags                  map[string]string
}

func (s ListenerSpec) defaultActions() []elbtypes.Action {
	if s.DefaultTargetGroupARN != "" {
		return []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(s.DefaultTargetGroupARN)}}
	}
	return []elbtypes.Action{{Type: elbtypes.ActionTypeEnumFixedResponse, FixedResponseConfig: &elbtypes.FixedResponseActionConfig{
		StatusCode: aws.String("404"), ContentType: aws.String("text/plain"), MessageBody: aws.String("no service answers here\n"),
	}}}
}

// EnsureListener makes the HTTP listener on spec.Port of the load balancer
// exist with spec's default action, and returns its ARN.
func (b *Builder) EnsureListener(ctx context.Context, spec ListenerSpec) (string, error) {
	name := fmt.Sprintf("HTTP :%d", spec.Port)
	if spec.LoadBalancerARN == Planned {
		b.would(false, KindListener, "", name)
		return Planned, nil
	}
	var found *elbtypes.Listener
	p := elb.NewDescribeListenersPaginator(b.ELB, &elb.DescribeListenersInput{LoadBalancerArn: &spec.LoadBalancerARN})
	for p.HasMorePages() && found == nil {
		page, err := p.NextPage(ctx)
		if err != nil {
			return "", fmt.Errorf("describe listeners of %s: %w", spec.LoadBalancerARN, err)
		}
		for i := range page.Listeners {
			if aws.ToInt32(page.Listeners[i].Port) == spec.Port {
				found = &page.Listeners[i]
				break
			}
		}
	}
	want := spec.defaultActions()
	if found == nil {
		if b.DryRun || spec.DefaultTargetGroupARN == Planned {
			b.would(false, KindListener, "", name)
			return Planned, nil
		}
		out, err := b.ELB.CreateListener(ctx, &elb.CreateListenerInput{
			LoadBalancerArn: &spec.LoadBalancerARN, Port: aws.Int32(spec.Port), Protocol: elbtypes.ProtocolEnumHttp,
			DefaultActions: want, Tags: tags.ELB(spec.Tags),
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
	if actionKey(found.DefaultActions) != actionKey(want) {
		changes = append(changes, "default action")
		if !b.DryRun {
			if _, err := b.ELB.ModifyListener(ctx, &elb.ModifyListenerInput{ListenerArn: &arn, DefaultActions: want}); err != nil {
				return "", fmt.Errorf("modify listener %s: %w", arn, err)
			}
		}
	}
	b.recordChanges(KindListener, arn, name, changes)
	return arn, nil
}

// actionKey sums up what actions do: forward to which target group, or
// answer with which status.
func actionKey(as []elbtypes.Action) string {
	var parts []string
	for _, a := range as {
		switch {
		case a.Type == elbtypes.ActionTypeEnumForward:
			parts = append(parts, "forward "+forwardTarget(a))
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
