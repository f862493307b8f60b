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
