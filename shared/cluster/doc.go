// Package cluster creates and tears down an environment's ECS cluster and
// its capacity: the IAM roles and instance profile, the launch template,
// the auto scaling group and the capacity provider for EC2 capacity, or the
// Fargate providers; and it drains and deletes ECS services for every step
// that runs them (DeleteServices).
package cluster
