// Package jenkinsenv is the AWS side of an environment's Jenkins, the
// environment's "state enforcer": its admin secret, log group, load
// balancer (security group, target group, listeners: HTTP, or HTTPS with
// jenkins.certificate_arn), task security group, task definition, optional
// persistent home on EFS and ECS service, and
// the teardown kinds that delete them again. The ECS and load balancer
// pieces are shared/workload's building blocks; this package adds what
// only Jenkins has (the secret, EFS, the container's start-up) and the
// configuration of the jobs over Jenkins' REST API.
//
// Everything is tagged stagehand:env, stagehand:step=provision-jenkins,
// stagehand:run and Name, and found again by those tags (or by names
// inside the environment's account, re-checked against the tags), so a
// second run creates nothing and a killed run resumes.
package jenkinsenv
