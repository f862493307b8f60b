package artifact

// Jenkins is written by provision-jenkins. It holds where Jenkins answers
// and the ids destroy-jenkins needs; the admin password is never in it, only
// the ARN of the secret that keeps it.
type Jenkins struct {
	Header
	// URL is where Jenkins answers: jenkins.url when the environment sets
	// it, else http://LOAD_BALANCER_DNS_NAME (https:// with a certificate).
	URL string `json:"url"`
	// AdminUser is the admin's user name; the password is in AdminSecretARN.
	AdminUser       string `json:"admin_user"`
	AdminSecretARN  string `json:"admin_secret_arn"`
	AdminSecretName string `json:"admin_secret_name"`

	ClusterName       string `json:"cluster_name"`
	ServiceName       string `json:"service_name"`
	ServiceARN        string `json:"service_arn"`
	TaskFamily        string `json:"task_family"`
	TaskDefinitionARN string `json:"task_definition_arn"`
	LogGroupName      string `json:"log_group_name"`

	LoadBalancerARN     string `json:"load_balancer_arn"`
	LoadBalancerDNSName string `json:"load_balancer_dns_name"`
	TargetGroupARN      string `json:"target_group_arn"`
	ListenerARN         string `json:"listener_arn"`
	// LoadBalancerSecurityGroupID admits jenkins.allowed_cidrs on 80 (and 443);
	// TaskSecurityGroupID admits the load balancer on 8080.
	LoadBalancerSecurityGroupID string `json:"load_balancer_security_group_id"`
	TaskSecurityGroupID         string `json:"task_security_group_id"`

	// Persistent home (jenkins.persistent_home) only.
	FileSystemID              string   `json:"file_system_id,omitempty"`
	AccessPointID             string   `json:"access_point_id,omitempty"`
	MountTargetIDs            []string `json:"mount_target_ids,omitempty"`
	FileSystemSecurityGroupID string   `json:"file_system_security_group_id,omitempty"`

	// Configured tells whether the jobs were configured over HTTP
	// (jenkins.configure); Jobs are the jobs of jenkins.jobs it configured.
	Configured bool     `json:"configured"`
	Jobs       []string `json:"jobs"`
}
