package jenkinsenv

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/efs"
	efstypes "github.com/aws/aws-sdk-go-v2/service/efs/types"

	"github.com/stagehand/stagehand/shared/awserr"
	"github.com/stagehand/stagehand/shared/parallel"
	"github.com/stagehand/stagehand/shared/step"
	"github.com/stagehand/stagehand/shared/tags"
	"github.com/stagehand/stagehand/shared/wait"
)

// EFSAPI is the part of EFS this package calls.
type EFSAPI interface {
	efs.DescribeFileSystemsAPIClient
	efs.DescribeMountTargetsAPIClient
	efs.DescribeAccessPointsAPIClient
	CreateFileSystem(ctx context.Context, in *efs.CreateFileSystemInput, optFns ...func(*efs.Options)) (*efs.CreateFileSystemOutput, error)
	CreateMountTarget(ctx context.Context, in *efs.CreateMountTargetInput, optFns ...func(*efs.Options)) (*efs.CreateMountTargetOutput, error)
	DescribeMountTargetSecurityGroups(ctx context.Context, in *efs.DescribeMountTargetSecurityGroupsInput, optFns ...func(*efs.Options)) (*efs.DescribeMountTargetSecurityGroupsOutput, error)
	ModifyMountTargetSecurityGroups(ctx context.Context, in *efs.ModifyMountTargetSecurityGroupsInput, optFns ...func(*efs.Options)) (*efs.ModifyMountTargetSecurityGroupsOutput, error)
	CreateAccessPoint(ctx context.Context, in *efs.CreateAccessPointInput, optFns ...func(*efs.Options)) (*efs.CreateAccessPointOutput, error)
	DeleteAccessPoint(ctx context.Context, in *efs.DeleteAccessPointInput, optFns ...func(*efs.Options)) (*efs.DeleteAccessPointOutput, error)
	DeleteMountTarget(ctx context.Context, in *efs.DeleteMountTargetInput, optFns ...func(*efs.Options)) (*efs.DeleteMountTargetOutput, error)
	DeleteFileSystem(ctx context.Context, in *efs.DeleteFileSystemInput, optFns ...func(*efs.Options)) (*efs.DeleteFileSystemOutput, error)
}

// Kinds of the persistent home in summaries and verify-clean.
const (
	KindFileSystem  = "efs file system"
	KindMountTarget = "efs mount target"
	KindAccessPoint = "efs access point"
)

// The Jenkins user of the official image; the access point makes every
// file on the file system theirs.
const (
	jenkinsUID = 1000
	jenkinsGID = 1000
	// homePath is the access point's root on the file system.
	homePath = "/jenkins_home"
)

// Home is the persistent home of Jenkins on EFS.
type Home struct {
	FileSystemID   string
	AccessPointID  string
	MountTargetIDs []string
}

// creationToken makes CreateFileSystem idempotent: EFS refuses a second
// file system with the same token in the account and region.
func creationToken(env string) string { return "stagehand-" + env + "-jenkins-home" }

// EnsureHome makes the persistent home exist: an encrypted file system, a
// mount target in each of subnets (in security group sgID) and an access
// point that maps every client to the jenkins user (uid/gid 1000) under
// /jenkins_home, and waits until they are available.
func (b *Builder) EnsureHome(ctx context.Context, subnets []string, sgID string) (*Home, error) {
	fsID, err := b.fileSystem(ctx)
	if err != nil {
		return nil, err
	}
	h := &Home{FileSystemID: fsID, MountTargetIDs: make([]string, len(subnets))}
	err = parallel.All(ctx,
		func(ctx context.Context) error {
			return parallel.Do(ctx, len(subnets), len(subnets), func(ctx context.Context, i int) (err error) {
				h.MountTargetIDs[i], err = b.mountTarget(ctx, fsID, subnets[i], sgID)
				return err
			})
		},
		func(ctx context.Context) (err error) {
			h.AccessPointID, err = b.accessPoint(ctx, fsID)
			return err
		})
	if err != nil {
		return nil, err
	}
	return h, nil
}

func (b *Builder) efsWait() wait.Options {
	o := b.Wait
	if o.Max == 0 {
		o.Max = 10 * time.Minute
	}
	return o
}

func (b *Builder) fileSystem(ctx context.Context) (string, error) {
	token := creationToken(b.Env.Name)
	name := b.Env.Name + "-jenkins-home"
	fs, err := describeByToken(ctx, b.EFS, token)
	if err != nil {
		return "", err
	}
	if fs != nil && fs.LifeCycleState == efstypes.LifeCycleStateDeleting {
		// A destroy is still under way; the token is free once it is gone.
		if b.DryRun {
			fs = nil
		} else if err := b.waitFileSystemGone(ctx, aws.ToString(fs.FileSystemId)); err != nil {
			return "", err
		} else {
			fs = nil
		}
	}
	if fs != nil {
		id := aws.ToString(fs.FileSystemId)
		if err := owned(KindFileSystem, id, tags.FromEFS(fs.Tags), b.Env.Name); err != nil {
			return "", err
		}
		b.record(step.Kept, KindFileSystem, id, name)
		return id, b.waitFileSystem(ctx, id)
	}
	if b.DryRun {
		b.record(step.WouldCreate, KindFileSystem, planned, name)
		return planned, nil
	}
	out, err := b.EFS.CreateFileSystem(ctx, &efs.CreateFileSystemInput{
		CreationToken:   &token,
		Encrypted:       aws.Bool(true),
		PerformanceMode: efstypes.PerformanceModeGeneralPurpose,
		ThroughputMode:  efstypes.ThroughputModeBursting,
		Tags:            tags.EFS(b.Tags.Map(name)),
	})
	if awserr.Exists(err) {
		// Created by an earlier run whose answer was lost: the token finds it.
		fs, derr := describeByToken(ctx, b.EFS, token)
		if derr != nil || fs == nil {
			return "", fmt.Errorf("create file system %s: %w", name, err)
		}
		if err := owned(KindFileSystem, aws.ToString(fs.FileSystemId), tags.FromEFS(fs.Tags), b.Env.Name); err != nil {
			return "", err
		}
		b.record(step.Kept, KindFileSystem, aws.ToString(fs.FileSystemId), name)
		return aws.ToString(fs.FileSystemId), b.waitFileSystem(ctx, aws.ToString(fs.FileSystemId))
	}
	if err != nil {
		return "", fmt.Errorf("create file system %s: %w", name, err)
	}
	id := aws.ToString(out.FileSystemId)
	b.record(step.Created, KindFileSystem, id, name)
	return id, b.waitFileSystem(ctx, id)
}

func describeByToken(ctx context.Context, api efs.DescribeFileSystemsAPIClient, token string) (*efstypes.FileSystemDescription, error) {
	p := efs.NewDescribeFileSystemsPaginator(api, &efs.DescribeFileSystemsInput{CreationToken: &token})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe file systems with creation token %s: %w", token, err)
		}
		for i := range page.FileSystems {
			if page.FileSystems[i].LifeCycleState != efstypes.LifeCycleStateDeleted {
				return &page.FileSystems[i], nil
			}
		}
	}
	return nil, nil
}

func (b *Builder) waitFileSystem(ctx context.Context, id string) error {
	return wait.Until(ctx, b.Log, wait.Target{Kind: KindFileSystem, ID: id}, b.efsWait(), func(ctx context.Context) (bool, string, error) {
		out, err := b.EFS.DescribeFileSystems(ctx, &efs.DescribeFileSystemsInput{FileSystemId: &id})
		if awserr.NotFound(err) {
			return false, "not visible yet", nil
		}
		if err != nil {
			return false, "", fmt.Errorf("describe file system %s: %w", id, err)
		}
		if len(out.FileSystems) == 0 {
			return false, "not visible yet", nil
		}
		switch s := out.FileSystems[0].LifeCycleState; s {
		case efstypes.LifeCycleStateAvailable:
			return true, string(s), nil
		case efstypes.LifeCycleStateCreating, efstypes.LifeCycleStateUpdating:
			return false, string(s), nil
		default:
			return false, string(s), fmt.Errorf("file system %s is %s", id, s)
		}
	})
}

func (b *Builder) waitFileSystemGone(ctx context.Context, id string) error {
	return wait.Until(ctx, b.Log, wait.Target{Kind: KindFileSystem, ID: id}, b.efsWait(), func(ctx context.Context) (bool, string, error) {
		return fileSystemGone(ctx, b.EFS, id)
	})
}

func fileSystemGone(ctx context.Context, api EFSAPI, id string) (bool, string, error) {
	out, err := api.DescribeFileSystems(ctx, &efs.DescribeFileSystemsInput{FileSystemId: &id})
	if awserr.NotFound(err) {
		return true, "gone", nil
	}
	if err != nil {
		return false, "", fmt.Errorf("describe file system %s: %w", id, err)
	}
	if len(out.FileSystems) == 0 || out.FileSystems[0].LifeCycleState == efstypes.LifeCycleStateDeleted {
		return true, "deleted", nil
	}
	return false, string(out.FileSystems[0].LifeCycleState), nil
}

// mountTargets returns the file system's mount targets.
func mountTargets(ctx context.Context, api EFSAPI, fsID string) ([]efstypes.MountTargetDescription, error) {
	var out []efstypes.MountTargetDescription
	p := efs.NewDescribeMountTargetsPaginator(api, &efs.DescribeMountTargetsInput{FileSystemId: &fsID})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if awserr.NotFound(err) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("describe mount targets of %s: %w", fsID, err)
		}
		out = append(out, page.MountTargets...)
	}
	return out, nil
}

// mountTarget makes the file system reachable from subnet, through sgID.
// Mount targets cannot be tagged: they are found through their file system.
func (b *Builder) mountTarget(ctx context.Context, fsID, subnet, sgID string) (string, error) {
	name := "in " + subnet
	var mt *efstypes.MountTargetDescription
	if fsID != planned {
		mts, err := mountTargets(ctx, b.EFS, fsID)
		if err != nil {
			return "", err
		}
		for i := range mts {
			if aws.ToString(mts[i].SubnetId) == subnet && mts[i].LifeCycleState != efstypes.LifeCycleStateDeleting && mts[i].LifeCycleState != efstypes.LifeCycleStateDeleted {
				mt = &mts[i]
			}
		}
	}
	if mt == nil {
		if b.DryRun {
			b.record(step.WouldCreate, KindMountTarget, planned, name)
			return planned, nil
		}
		out, err := b.EFS.CreateMountTarget(ctx, &efs.CreateMountTargetInput{FileSystemId: &fsID, SubnetId: &subnet, SecurityGroups: []string{sgID}})
		if err != nil {
			return "", fmt.Errorf("create mount target of %s in %s: %w", fsID, subnet, err)
		}
		id := aws.ToString(out.MountTargetId)
		b.record(step.Created, KindMountTarget, id, name)
		return id, b.waitMountTarget(ctx, id)
	}
	id := aws.ToString(mt.MountTargetId)
	if sgID != planned {
		out, err := b.EFS.DescribeMountTargetSecurityGroups(ctx, &efs.DescribeMountTargetSecurityGroupsInput{MountTargetId: &id})
		if err != nil {
			return "", fmt.Errorf("describe security groups of mount target %s: %w", id, err)
		}
		if !slices.Equal(out.SecurityGroups, []string{sgID}) {
			if b.DryRun {
				b.record(step.WouldUpdate, KindMountTarget, id, name+": security group "+sgID)
				return id, nil
			}
			if _, err := b.EFS.ModifyMountTargetSecurityGroups(ctx, &efs.ModifyMountTargetSecurityGroupsInput{MountTargetId: &id, SecurityGroups: []string{sgID}}); err != nil {
				return "", fmt.Errorf("set security group of mount target %s: %w", id, err)
			}
			b.record(step.Updated, KindMountTarget, id, name+": security group "+sgID)
			return id, b.waitMountTarget(ctx, id)
		}
	}
	b.record(step.Kept, KindMountTarget, id, name)
	if b.DryRun {
		return id, nil
	}
	return id, b.waitMountTarget(ctx, id)
}

func (b *Builder) waitMountTarget(ctx context.Context, id string) error {
	return wait.Until(ctx, b.Log, wait.Target{Kind: KindMountTarget, ID: id}, b.efsWait(), func(ctx context.Context) (bool, string, error) {
		out, err := b.EFS.DescribeMountTargets(ctx, &efs.DescribeMountTargetsInput{MountTargetId: &id})
		if awserr.NotFound(err) {
			return false, "not visible yet", nil
		}
		if err != nil {
			return false, "", fmt.Errorf("describe mount target %s: %w", id, err)
		}
		if len(out.MountTargets) == 0 {
			return false, "not visible yet", nil
		}
		switch s := out.MountTargets[0].LifeCycleState; s {
		case efstypes.LifeCycleStateAvailable:
			return true, string(s), nil
		case efstypes.LifeCycleStateCreating, efstypes.LifeCycleStateUpdating:
			return false, string(s), nil
		default:
			return false, string(s), fmt.Errorf("mount target %s is %s", id, s)
		}
	})
}

// accessPoints returns the file system's access points.
func accessPoints(ctx context.Context, api EFSAPI, fsID string) ([]efstypes.AccessPointDescription, error) {
	var out []efstypes.AccessPointDescription
	p := efs.NewDescribeAccessPointsPaginator(api, &efs.DescribeAccessPointsInput{FileSystemId: &fsID})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if awserr.NotFound(err) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("describe access points of %s: %w", fsID, err)
		}
		out = append(out, page.AccessPoints...)
	}
	sort.Slice(out, func(i, j int) bool { return aws.ToString(out[i].AccessPointId) < aws.ToString(out[j].AccessPointId) })
	return out, nil
}

func (b *Builder) accessPoint(ctx context.Context, fsID string) (string, error) {
	name := b.Env.Name + "-jenkins-home"
	if fsID != planned {
		aps, err := accessPoints(ctx, b.EFS, fsID)
		if err != nil {
			return "", err
		}
		for _, ap := range aps {
			t := tags.FromEFS(ap.Tags)
			if !tags.Is(t, b.Env.Name) || t[tags.Name] != name || ap.LifeCycleState == efstypes.LifeCycleStateDeleting || ap.LifeCycleState == efstypes.LifeCycleStateDeleted {
				continue
			}
			id := aws.ToString(ap.AccessPointId)
			b.record(step.Kept, KindAccessPoint, id, name)
			return id, nil
		}
	}
	if b.DryRun {
		b.record(step.WouldCreate, KindAccessPoint, planned, name)
		return planned, nil
	}
	out, err := b.EFS.CreateAccessPoint(ctx, &efs.CreateAccessPointInput{
		// The same token returns the same access point to a retried call.
		ClientToken:  aws.String(name),
		FileSystemId: &fsID,
		PosixUser:    &efstypes.PosixUser{Uid: aws.Int64(jenkinsUID), Gid: aws.Int64(jenkinsGID)},
		RootDirectory: &efstypes.RootDirectory{
			Path:         aws.String(homePath),
			CreationInfo: &efstypes.CreationInfo{OwnerUid: aws.Int64(jenkinsUID), OwnerGid: aws.Int64(jenkinsGID), Permissions: aws.String("755")},
		},
		Tags: tags.EFS(b.Tags.Map(name)),
	})
	if err != nil {
		return "", fmt.Errorf("create access point %s on %s: %w", name, fsID, err)
	}
	id := aws.ToString(out.AccessPointId)
	b.record(step.Created, KindAccessPoint, id, name)
	return id, wait.Until(ctx, b.Log, wait.Target{Kind: KindAccessPoint, ID: id}, b.efsWait(), func(ctx context.Context) (bool, string, error) {
		out, err := b.EFS.DescribeAccessPoints(ctx, &efs.DescribeAccessPointsInput{AccessPointId: &id})
		if awserr.NotFound(err) {
			return false, "not visible yet", nil
		}
		if err != nil {
			return false, "", fmt.Errorf("describe access point %s: %w", id, err)
		}
		if len(out.AccessPoints) == 0 {
			return false, "not visible yet", nil
		}
		s := out.AccessPoints[0].LifeCycleState
		return s == efstypes.LifeCycleStateAvailable, string(s), nil
	})
}
