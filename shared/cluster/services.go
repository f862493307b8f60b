package cluster

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/sirupsen/logrus"

	"github.com/stagehand/stagehand/shared/awserr"
	"github.com/stagehand/stagehand/shared/wait"
)

// ServicesAPI is the part of ECS that DeleteServices and ListServices call.
type ServicesAPI interface {
	ecs.ListServicesAPIClient
	DescribeServices(ctx context.Context, in *ecs.DescribeServicesInput, optFns ...func(*ecs.Options)) (*ecs.DescribeServicesOutput, error)
	UpdateService(ctx context.Context, in *ecs.UpdateServiceInput, optFns ...func(*ecs.Options)) (*ecs.UpdateServiceOutput, error)
	DeleteService(ctx context.Context, in *ecs.DeleteServiceInput, optFns ...func(*ecs.Options)) (*ecs.DeleteServiceOutput, error)
}

// describeBatch is the most services one DescribeServices call accepts.
const describeBatch = 10

// Service states as DescribeServices reports them.
const (
	serviceActive   = "ACTIVE"
	serviceDraining = "DRAINING"
	serviceInactive = "INACTIVE"
)

// DefaultServicesWait bounds the wait for deleted services to become
// INACTIVE when the caller's wait.Options has no Max.
const DefaultServicesWait = 10 * time.Minute

// ListServices returns the ARNs of every service of the cluster (ECS lists
// ACTIVE and DRAINING ones). A cluster that does not exist has none.
func ListServices(ctx context.Context, api ecs.ListServicesAPIClient, clusterName string) ([]string, error) {
	var arns []string
	p := ecs.NewListServicesPaginator(api, &ecs.ListServicesInput{Cluster: &clusterName})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if awserr.NotFound(err) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("list services of cluster %s: %w", clusterName, err)
		}
		arns = append(arns, page.ServiceArns...)
	}
	return arns, nil
}

// DeleteServices drains and deletes the services of the cluster named by
// serviceNames (names or ARNs): each one that exists and is ACTIVE is scaled
// to 0 (UpdateService desiredCount 0) and deleted with Force, then it waits
// (DescribeServices, at most 10 per call) until every one of them is
// INACTIVE or gone, bounded by o.Max (DefaultServicesWait when 0) and the
// context's deadline.
//
// deleted holds the services (as given) this call deleted. The others were
// already gone: missing, INACTIVE, or DRAINING after an earlier deletion
// (those are waited for too). Already gone counts as success; a missing
// cluster means every service is already gone.
func DeleteServices(ctx context.Context, api ServicesAPI, log logrus.FieldLogger, clusterName string, serviceNames []string, o wait.Options) (deleted []string, err error) {
	if len(serviceNames) == 0 {
		return nil, nil
	}
	found, err := describeServices(ctx, api, clusterName, serviceNames)
	if err != nil {
		return nil, err
	}
	var pending []string
	for _, name := range serviceNames {
		s, ok := found[name]
		if !ok {
			continue
		}
		switch aws.ToString(s.Status) {
		case serviceInactive:
			continue
		case serviceDraining:
			pending = append(pending, name)
			continue
		}
		slog := log.WithFields(logrus.Fields{"resource": "ecs service", "id": aws.ToString(s.ServiceArn), "cluster": clusterName})
		gone, err := deleteService(ctx, api, clusterName, name, s.DesiredCount)
		if err != nil {
			return deleted, err
		}
		if gone {
			continue
		}
		slog.Info("deleted, draining")
		deleted = append(deleted, name)
		pending = append(pending, name)
	}
	if len(pending) == 0 {
		return deleted, nil
	}
	if o.Max == 0 {
		o.Max = DefaultServicesWait
	}
	target := wait.Target{Kind: "ecs services", ID: clusterName + "/" + shortNames(pending)}
	err = wait.Until(ctx, log, target, o, func(ctx context.Context) (bool, string, error) {
		found, err := describeServices(ctx, api, clusterName, pending)
		if err != nil {
			return false, "", err
		}
		var left []string
		for _, name := range pending {
			if s, ok := found[name]; ok && aws.ToString(s.Status) != serviceInactive {
				left = append(left, fmt.Sprintf("%s %s (%d running)", shortName(name), aws.ToString(s.Status), s.RunningCount))
			}
		}
		if len(left) == 0 {
			return true, "all inactive", nil
		}
		return false, strings.Join(left, ", "), nil
	})
	return deleted, err
}

// deleteService scales one service to 0 and deletes it; gone reports that
// it had disappeared (or become inactive) in between.
func deleteService(ctx context.Context, api ServicesAPI, clusterName, name string, desired int32) (gone bool, err error) {
	if desired > 0 {
		_, err := api.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: &clusterName, Service: &name, DesiredCount: aws.Int32(0)})
		if awserr.NotFound(err) {
			return true, nil
		}
		if err != nil {
			return false, fmt.Errorf("scale service %s of cluster %s to 0: %w", name, clusterName, err)
		}
	}
	_, err = api.DeleteService(ctx, &ecs.DeleteServiceInput{Cluster: &clusterName, Service: &name, Force: aws.Bool(true)})
	if awserr.NotFound(err) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("delete service %s of cluster %s: %w", name, clusterName, err)
	}
	return false, nil
}

// describeServices returns the services of names that the cluster still
// knows, keyed by the name or ARN as given. Missing ones are absent.
func describeServices(ctx context.Context, api ServicesAPI, clusterName string, names []string) (map[string]ecstypes.Service, error) {
	out := map[string]ecstypes.Service{}
	for start := 0; start < len(names); start += describeBatch {
		batch := names[start:min(start+describeBatch, len(names))]
		resp, err := api.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: &clusterName, Services: batch})
		if awserr.NotFound(err) {
			return out, nil // the cluster is gone, and its services with it
		}
		if err != nil {
			return nil, fmt.Errorf("describe services of cluster %s: %w", clusterName, err)
		}
		for _, s := range resp.Services {
			for _, name := range batch {
				if name == aws.ToString(s.ServiceName) || name == aws.ToString(s.ServiceArn) {
					out[name] = s
				}
			}
		}
	}
	return out, nil
}

// shortName is the service name of a name or ARN.
func shortName(nameOrARN string) string {
	return nameOrARN[strings.LastIndex(nameOrARN, "/")+1:]
}

func shortNames(names []string) string {
	s := make([]string, len(names))
	for i, n := range names {
		s[i] = shortName(n)
	}
	sort.Strings(s)
	return strings.Join(s, ",")
}
