package artifact

// Containers is written by run-containers (containers.json).
type Containers struct {
	Header
	ClusterName string `json:"cluster_name"`
	// The load balancer of the public services, when there are any.
	LoadBalancerARN             string `json:"load_balancer_arn,omitempty"`
	LoadBalancerDNSName         string `json:"load_balancer_dns_name,omitempty"`
	ListenerARN                 string `json:"listener_arn,omitempty"`
	LoadBalancerSecurityGroupID string `json:"load_balancer_security_group_id,omitempty"`
	// ServicesSecurityGroupID admits the load balancer to the public services.
	ServicesSecurityGroupID string             `json:"services_security_group_id,omitempty"`
	Services                []ContainerService `json:"services"`
}

// ContainerService is one service of the manifest as run-containers left it.
type ContainerService struct {
	Name              string `json:"name"`
	ServiceARN        string `json:"service_arn"`
	TaskDefinitionARN string `json:"task_definition_arn"`
	LogGroup          string `json:"log_group"`
	DesiredCount      int    `json:"desired_count"`
	// Public services only.
	TargetGroupARN  string `json:"target_group_arn,omitempty"`
	ListenerRuleARN string `json:"listener_rule_arn,omitempty"`
	URL             string `json:"url,omitempty"`
}
