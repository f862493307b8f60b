package main

import (
	"strings"
	"testing"

	"github.com/stagehand/stagehand/shared/artifact"
	"github.com/stagehand/stagehand/shared/jenkinsenv"
	"github.com/stagehand/stagehand/shared/workload"
)

func TestTeardownOrder(t *testing.T) {
	var got []string
	for _, k := range kinds(&workload.Scope{}, &jenkinsenv.Scope{}) {
		got = append(got, k.Kind())
	}
	want := "ecs service, task definition, load balancer, target group, efs access point, efs mount target, efs file system, security group, secret, log group"
	if strings.Join(got, ", ") != want {
		t.Fatalf("teardown order\n got %s\nwant %s", strings.Join(got, ", "), want)
	}
}

func TestKnown(t *testing.T) {
	k := known(&artifact.Jenkins{
		ClusterName: "stg", ServiceARN: "arn:svc", TaskDefinitionARN: "arn:td", LoadBalancerARN: "arn:lb", TargetGroupARN: "arn:tg",
		LoadBalancerSecurityGroupID: "sg-lb", TaskSecurityGroupID: "sg-task", LogGroupName: "/stagehand/stg/jenkins",
	})
	if k.Cluster != "stg" || strings.Join(k.Services, ",") != "arn:svc" || strings.Join(k.TaskDefinitionARNs, ",") != "arn:td" ||
		strings.Join(k.LoadBalancerARNs, ",") != "arn:lb" || strings.Join(k.TargetGroupARNs, ",") != "arn:tg" ||
		strings.Join(k.SecurityGroupIDs, ",") != "sg-lb,sg-task" || strings.Join(k.LogGroups, ",") != "/stagehand/stg/jenkins" {
		t.Fatalf("known %+v", k)
	}
}
