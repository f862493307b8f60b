package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/stagehand/stagehand/e2e/e2etest"
	"github.com/stagehand/stagehand/shared/artifact"
)

// requestCertificate asks the endpoint's ACM for a certificate of domain
// and returns its ARN, as an operator would before setting
// public_certificate_arn. The SDK's ACM client is not among the module's
// dependencies, so the test sends the request that client would send: a
// signed JSON 1.1 call.
func requestCertificate(t *testing.T, domain string) string {
	t.Helper()
	ctx := context.Background()
	cfg := h.AWS(t)
	body := fmt.Sprintf(`{"DomainName":%q,"ValidationMethod":"DNS"}`, domain)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.Endpoint+"/", strings.NewReader(body))
	must(t, err)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", "CertificateManager.RequestCertificate")
	creds, err := cfg.Credentials.Retrieve(ctx)
	must(t, err)
	sum := sha256.Sum256([]byte(body))
	must(t, v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "acm", e2etest.Region, time.Now()))
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	defer resp.Body.Close()
	var out struct{ CertificateArn string }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK || out.CertificateArn == "" {
		t.Fatalf("request certificate for %s: status %d, %v, %+v", domain, resp.StatusCode, err, out)
	}
	return out.CertificateArn
}

// listenersOf sums up a load balancer's listeners by port: "PROTOCOL
// [CERTIFICATE POLICY] → ACTION" and the target groups its rules forward to.
func listenersOf(t *testing.T, api *elb.Client, lbARN string) (map[int32]string, map[int32]elbtypes.Listener) {
	t.Helper()
	ctx := context.Background()
	ls, err := api.DescribeListeners(ctx, &elb.DescribeListenersInput{LoadBalancerArn: &lbARN})
	must(t, err)
	sums, byPort := map[int32]string{}, map[int32]elbtypes.Listener{}
	for _, l := range ls.Listeners {
		s := string(l.Protocol)
		for _, c := range l.Certificates {
			s += " " + aws.ToString(c.CertificateArn) + " " + aws.ToString(l.SslPolicy)
		}
		a := l.DefaultActions[0]
		switch {
		case a.RedirectConfig != nil:
			s += fmt.Sprintf(" → redirect %s:%s %s", aws.ToString(a.RedirectConfig.Protocol), aws.ToString(a.RedirectConfig.Port), a.RedirectConfig.StatusCode)
		case a.Type == elbtypes.ActionTypeEnumForward:
			s += " → forward " + aws.ToString(a.TargetGroupArn)
		default:
			s += " → " + string(a.Type)
		}
		rules, err := api.DescribeRules(ctx, &elb.DescribeRulesInput{ListenerArn: l.ListenerArn})
		must(t, err)
		for _, r := range rules.Rules {
			if !aws.ToBool(r.IsDefault) {
				s += " rule " + aws.ToString(r.RuleArn) + " → " + aws.ToString(r.Actions[0].TargetGroupArn)
			}
		}
		sums[aws.ToInt32(l.Port)], byPort[aws.ToInt32(l.Port)] = s, l
	}
	return sums, byPort
}

func assertListeners(t *testing.T, what string, got, want map[int32]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: listeners %v, want %v", what, got, want)
		return
	}
	for port, s := range want {
		if got[port] != s {
			t.Errorf("%s: listener :%d is\n  %s\nwant\n  %s", what, port, got[port], s)
		}
	}
}

// TestHTTPS is one chain with certificates: create-vpc → bootstrap-ecs →
// run-containers with public_certificate_arn (HTTPS on 443 forwarding, 80
// redirecting, security group open on both, https URLs; a second run
// creates nothing) → provision-jenkins with jenkins.certificate_arn, the
// same → both again without certificates (a dry run first; back to HTTP
// only) → and with them (on existing load balancers) → destroy-* →
// verify-clean.
func TestHTTPS(t *testing.T) {
	h.Reset(t)
	w := h.NewWorkspace(t)
	const env = "tls"
	const policy = "ELBSecurityPolicy-TLS13-1-2-2021-06"
	const redirect = "HTTP → redirect HTTPS:443 HTTP_301"
	a := newWorkloadAPIs(t)
	cfg := h.AWS(t)
	publicCert := requestCertificate(t, "staging.example.com")
	jenkinsCert := requestCertificate(t, "jenkins.staging.example.com")
	write := func(withCerts bool) {
		e := workloadEnv("10.94.0.0/16", []map[string]any{
			{"name": "web", "image": "public.ecr.aws/nginx/nginx:1.27", "cpu": 256, "memory": 512, "port": 80, "public": true},
			{"name": "worker", "image": "public.ecr.aws/docker/library/busybox:1.36", "cpu": 256, "memory": 512},
		})
		j := map[string]any{"configure": false, "allowed_cidrs": []string{"203.0.113.0/24"}}
		if withCerts {
			e["public_certificate_arn"] = publicCert
			j["certificate_arn"] = jenkinsCert
		}
		e["jenkins"] = j
		w.WriteEnv(t, env, e)
	}
	write(true)
	w.MustRun(t, 0, "create-vpc", "--env", env)
	w.MustRun(t, 0, "bootstrap-ecs", "--env", env)

	// The services' load balancer: HTTPS forwards, HTTP redirects.
	w.MustRun(t, 0, "run-containers", "--env", env)
	var c artifact.Containers
	w.ReadArtifact(t, env, artifact.KindContainers, &c)
	web := c.Services[0]
	got, byPort := listenersOf(t, a.elb, c.LoadBalancerARN)
	assertListeners(t, "services", got, map[int32]string{
		443: "HTTPS " + publicCert + " " + policy + " → fixed-response rule " + web.ListenerRuleARN + " → " + web.TargetGroupARN,
		80:  redirect,
	})
	if c.ListenerARN != aws.ToString(byPort[443].ListenerArn) || web.URL != "https://"+c.LoadBalancerDNSName+"/web/" {
		t.Errorf("containers.json: listener %s, url %s", c.ListenerARN, web.URL)
	}
	if got := ingress(t, a, c.LoadBalancerSecurityGroupID); strings.Join(got, ";") != "tcp 443-443 0.0.0.0/0;tcp 80-80 0.0.0.0/0" {
		t.Errorf("public load balancer security group ingress %v", got)
	}
	// Again: nothing created, nothing changed.
	noCreated(t, w.MustRun(t, 0, "run-containers", "--env", env))
	if again, _ := listenersOf(t, a.elb, c.LoadBalancerARN); fmt.Sprint(again) != fmt.Sprint(got) {
		t.Errorf("second run changed the listeners: %v, was %v", again, got)
	}

	// Jenkins' load balancer: the same, from jenkins.allowed_cidrs.
	w.MustRun(t, 0, "provision-jenkins", "--env", env)
	var j artifact.Jenkins
	w.ReadArtifact(t, env, artifact.KindJenkins, &j)
	jgot, jbyPort := listenersOf(t, a.elb, j.LoadBalancerARN)
	assertListeners(t, "jenkins", jgot, map[int32]string{
		443: "HTTPS " + jenkinsCert + " " + policy + " → forward " + j.TargetGroupARN,
		80:  redirect,
	})
	if j.ListenerARN != aws.ToString(jbyPort[443].ListenerArn) || j.URL != "https://"+j.LoadBalancerDNSName {
		t.Errorf("jenkins.json: listener %s, url %s", j.ListenerARN, j.URL)
	}
	assertIngress(t, cfg, j.LoadBalancerSecurityGroupID, []string{"tcp 80 203.0.113.0/24", "tcp 443 203.0.113.0/24"})
	noCreated(t, w.MustRun(t, 0, "provision-jenkins", "--env", env))
	if again, _ := listenersOf(t, a.elb, j.LoadBalancerARN); fmt.Sprint(again) != fmt.Sprint(jgot) {
		t.Errorf("second run changed Jenkins' listeners: %v, was %v", again, jgot)
	}

	// Without the certificates: back to HTTP only. web's rule moves to the
	// HTTP listener; nothing else is created.
	before := workloadOf(t, a, env, c.ClusterName).count()
	write(false)
	// A dry run says so and changes nothing.
	r := w.MustRun(t, 0, "run-containers", "--env", env, "--dry-run")
	if !strings.Contains(r.Stdout, "would delete") || !strings.Contains(r.Stdout, "would update") {
		t.Errorf("dry run without certificate printed no plan:\n%s", r.Stdout)
	}
	if again, _ := listenersOf(t, a.elb, c.LoadBalancerARN); fmt.Sprint(again) != fmt.Sprint(got) {
		t.Errorf("dry run changed the listeners: %v, was %v", again, got)
	}
	r = w.MustRun(t, 0, "run-containers", "--env", env)
	for _, line := range strings.Split(r.Stdout, "\n") {
		if f := strings.Fields(line); len(f) > 0 && f[0] == "created" && !strings.HasPrefix(strings.Join(f, " "), "created listener rule ") {
			t.Errorf("run without certificate created: %s", line)
		}
	}
	if n := workloadOf(t, a, env, c.ClusterName).count(); fmt.Sprint(n) != fmt.Sprint(before) {
		t.Errorf("run without certificate: %v, was %v", n, before)
	}
	w.ReadArtifact(t, env, artifact.KindContainers, &c)
	web = c.Services[0]
	got, byPort = listenersOf(t, a.elb, c.LoadBalancerARN)
	assertListeners(t, "services without certificate", got, map[int32]string{
		80: "HTTP → fixed-response rule " + web.ListenerRuleARN + " → " + web.TargetGroupARN,
	})
	if c.ListenerARN != aws.ToString(byPort[80].ListenerArn) || web.URL != "http://"+c.LoadBalancerDNSName+"/web/" {
		t.Errorf("containers.json without certificate: listener %s, url %s", c.ListenerARN, web.URL)
	}
	if got := ingress(t, a, c.LoadBalancerSecurityGroupID); strings.Join(got, ";") != "tcp 80-80 0.0.0.0/0" {
		t.Errorf("public load balancer security group ingress without certificate %v", got)
	}
	w.MustRun(t, 0, "provision-jenkins", "--env", env)
	w.ReadArtifact(t, env, artifact.KindJenkins, &j)
	jgot, _ = listenersOf(t, a.elb, j.LoadBalancerARN)
	assertListeners(t, "jenkins without certificate", jgot, map[int32]string{80: "HTTP → forward " + j.TargetGroupARN})
	if !strings.HasPrefix(j.URL, "http://") {
		t.Errorf("jenkins.json url without certificate: %s", j.URL)
	}
	assertIngress(t, cfg, j.LoadBalancerSecurityGroupID, []string{"tcp 80 203.0.113.0/24"})

	// The certificates back on existing load balancers; then the destroy
	// steps take the HTTPS listeners with their load balancers.
	write(true)
	w.MustRun(t, 0, "run-containers", "--env", env)
	w.ReadArtifact(t, env, artifact.KindContainers, &c)
	web = c.Services[0]
	got, _ = listenersOf(t, a.elb, c.LoadBalancerARN)
	assertListeners(t, "services with the certificate again", got, map[int32]string{
		443: "HTTPS " + publicCert + " " + policy + " → fixed-response rule " + web.ListenerRuleARN + " → " + web.TargetGroupARN,
		80:  redirect,
	})
	w.MustRun(t, 0, "provision-jenkins", "--env", env)
	w.ReadArtifact(t, env, artifact.KindJenkins, &j)
	jgot, _ = listenersOf(t, a.elb, j.LoadBalancerARN)
	assertListeners(t, "jenkins with the certificate again", jgot, map[int32]string{
		443: "HTTPS " + jenkinsCert + " " + policy + " → forward " + j.TargetGroupARN,
		80:  redirect,
	})

	w.MustRun(t, 0, "destroy-jenkins", "--env", env, "--yes")
	w.MustRun(t, 0, "destroy-containers", "--env", env, "--yes")
	w.MustRun(t, 0, "destroy-ecs", "--env", env, "--yes")
	w.MustRun(t, 0, "destroy-vpc", "--env", env, "--yes")
	w.MustRun(t, 0, "verify-clean", "--env", env)
}
