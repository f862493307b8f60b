// Package awserr translates AWS API error codes into sentinel errors, in one
// place, so the rest of stagehand tests conditions with errors.Is.
package awserr

import (
	"errors"

	"github.com/aws/smithy-go"
)

// Sentinels.
var (
	// ErrNotFound: the resource does not exist (or no longer does).
	ErrNotFound = errors.New("not found")
	// ErrDependency: something still depends on the resource; usually clears by itself.
	ErrDependency = errors.New("still in use")
	// ErrExists: a resource with this name or id already exists.
	ErrExists = errors.New("already exists")
	// ErrThrottled: the API asks to slow down.
	ErrThrottled = errors.New("throttled")
	// ErrInvalidState: the resource is not in a state that allows the call yet.
	ErrInvalidState = errors.New("invalid state")
)

var codes = map[string]error{
	// EC2
	"InvalidVpcID.NotFound":                       ErrNotFound,
	"InvalidSubnetID.NotFound":                    ErrNotFound,
	"InvalidInternetGatewayID.NotFound":           ErrNotFound,
	"InvalidAllocationID.NotFound":                ErrNotFound,
	"InvalidAssociationID.NotFound":               ErrNotFound,
	"InvalidRouteTableID.NotFound":                ErrNotFound,
	"InvalidGroup.NotFound":                       ErrNotFound,
	"InvalidNetworkInterfaceID.NotFound":          ErrNotFound,
	"InvalidLaunchTemplateId.NotFound":            ErrNotFound,
	"InvalidLaunchTemplateName.NotFoundException": ErrNotFound,
	"InvalidInstanceID.NotFound":                  ErrNotFound,
	"NatGatewayNotFound":                          ErrNotFound,
	"Gateway.NotAttached":                         ErrNotFound,
	"InvalidPermission.NotFound":                  ErrNotFound,
	"DependencyViolation":                         ErrDependency,
	"InvalidIPAddress.InUse":                      ErrDependency,
	"AuthFailure.AddressInUse":                    ErrDependency,
	"InvalidPermission.Duplicate":                 ErrExists,
	"RouteAlreadyExists":                          ErrExists,
	"Resource.AlreadyAssociated":                  ErrExists,
	"InvalidGroup.Duplicate":                      ErrExists,
	"IncorrectState":                              ErrInvalidState,
	// IAM
	"NoSuchEntity":        ErrNotFound,
	"DeleteConflict":      ErrDependency,
	"EntityAlreadyExists": ErrExists,
	// ECS
	"ClusterNotFoundException":                   ErrNotFound,
	"ServiceNotFoundException":                   ErrNotFound,
	"ServiceNotActiveException":                  ErrNotFound,
	"ClusterContainsServicesException":           ErrDependency,
	"ClusterContainsTasksException":              ErrDependency,
	"ClusterContainsContainerInstancesException": ErrDependency,
	"ResourceInUseException":                     ErrDependency,
	"UpdateInProgressException":                  ErrDependency,
	// Auto Scaling
	"ResourceInUse":             ErrDependency,
	"ScalingActivityInProgress": ErrDependency,
	"AlreadyExists":             ErrExists,
	// ELBv2
	"LoadBalancerNotFound":      ErrNotFound,
	"TargetGroupNotFound":       ErrNotFound,
	"ListenerNotFound":          ErrNotFound,
	"RuleNotFound":              ErrNotFound,
	"DuplicateLoadBalancerName": ErrExists,
	"DuplicateTargetGroupName":  ErrExists,
	// Logs, Secrets Manager, SSM, EFS
	"ResourceNotFoundException":      ErrNotFound,
	"ResourceAlreadyExistsException": ErrExists,
	"ParameterNotFound":              ErrNotFound,
	"FileSystemNotFound":             ErrNotFound,
	"MountTargetNotFound":            ErrNotFound,
	"FileSystemInUse":                ErrDependency,

	// Secrets Manager and EFS (provision-jenkins)
	"ResourceExistsException":           ErrExists,
	"FileSystemAlreadyExists":           ErrExists,
	"AccessPointAlreadyExists":          ErrExists,
	"MountTargetConflict":               ErrExists,
	"AccessPointNotFound":               ErrNotFound,
	"IncorrectFileSystemLifeCycleState": ErrInvalidState,
	"IncorrectMountTargetState":         ErrInvalidState,

	// Throttling, any service
	"Throttling":               ErrThrottled,
	"ThrottlingException":      ErrThrottled,
	"RequestLimitExceeded":     ErrThrottled,
	"TooManyRequestsException": ErrThrottled,
}

// Code returns the API error code of err, or "".
func Code(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

// Is reports whether err carries the API error code code.
func Is(err error, code string) bool { return err != nil && Code(err) == code }

type translated struct {
	err      error
	sentinel error
}

func (t *translated) Error() string   { return t.err.Error() }
func (t *translated) Unwrap() []error { return []error{t.err, t.sentinel} }

// Translate wraps err so that errors.Is(err, sentinel) holds for its API
// error code; the original error stays in the chain. Unknown codes and nil
// pass through unchanged.
func Translate(err error) error {
	if err == nil {
		return nil
	}
	if s, ok := codes[Code(err)]; ok {
		return &translated{err: err, sentinel: s}
	}
	return err
}

// NotFound reports whether err means the resource does not exist.
func NotFound(err error) bool { return errors.Is(Translate(err), ErrNotFound) }

// Dependency reports whether err means something still depends on the resource.
func Dependency(err error) bool { return errors.Is(Translate(err), ErrDependency) }

// Exists reports whether err means the resource already exists.
func Exists(err error) bool { return errors.Is(Translate(err), ErrExists) }
