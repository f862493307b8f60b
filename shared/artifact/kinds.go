package artifact

// Artifact kinds, one per create step; the file is KIND.json.
const (
	KindVPC        = "vpc"
	KindECS        = "ecs"
	KindJenkins    = "jenkins"
	KindContainers = "containers"
)

// VPC is written by create-vpc.
type VPC struct {
	Header
	VPCID             string   `json:"vpc_id"`
	CIDR              string   `json:"cidr"`
	AvailabilityZones []string `json:"availability_zones"`
	// PublicSubnetIDs and PrivateSubnetIDs are in AvailabilityZones order.
	PublicSubnetIDs        []string `json:"public_subnet_ids"`
	PrivateSubnetIDs       []string `json:"private_subnet_ids"`
	InternetGatewayID      string   `json:"internet_gateway_id"`
	NATMode                string   `json:"nat_mode"`
	NATGatewayIDs          []string `json:"nat_gateway_ids"`
	ElasticIPAllocationIDs []string `json:"elastic_ip_allocation_ids"`
	PublicRouteTableID     string   `json:"public_route_table_id"`
	PrivateRouteTableIDs   []string `json:"private_route_table_ids"`
	BaseSecurityGroupID    string   `json:"base_security_group_id"`
}

// StrategyItem is one entry of a capacity provider strategy.
type StrategyItem struct {
	CapacityProvider string `json:"capacity_provider"`
	Weight           int32  `json:"weight"`
	Base             int32  `json:"base"`
}

// ECS is written by bootstrap-ecs.
type ECS struct {
	Header
	ClusterName string `json:"cluster_name"`
	ClusterARN  string `json:"cluster_arn"`
	// Capacity is "ec2" or "fargate".
	Capacity          string         `json:"capacity"`
	CapacityProviders []string       `json:"capacity_providers"`
	DefaultStrategy   []StrategyItem `json:"default_strategy"`
	// ExecutionRoleARN is the task execution role services use (pull images,
	// write logs, read the environment's secrets).
	ExecutionRoleARN  string `json:"execution_role_arn"`
	ExecutionRoleName string `json:"execution_role_name"`
	// EC2 capacity only.
	InstanceRoleName     string `json:"instance_role_name,omitempty"`
	InstanceProfileName  string `json:"instance_profile_name,omitempty"`
	InstanceProfileARN   string `json:"instance_profile_arn,omitempty"`
	LaunchTemplateID     string `json:"launch_template_id,omitempty"`
	AutoScalingGroupName string `json:"auto_scaling_group_name,omitempty"`
	AMIID                string `json:"ami_id,omitempty"`
	// Where tasks are placed: the private subnets and the base security group.
	VPCID            string   `json:"vpc_id"`
	SubnetIDs        []string `json:"subnet_ids"`
	SecurityGroupIDs []string `json:"security_group_ids"`
}
