package jenkinsenv

import (
	"context"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/efs"
	efstypes "github.com/aws/aws-sdk-go-v2/service/efs/types"

	"github.com/stagehand/stagehand/shared/step"
	"github.com/stagehand/stagehand/shared/tags"
	"github.com/stagehand/stagehand/shared/wait"
)

// fakeEFS holds at most one file system, with its mount targets and access
// points; everything is available as soon as it is created.
type fakeEFS struct {
	EFSAPI
	mu    sync.Mutex
	fs    *efstypes.FileSystemDescription
	mts   []efstypes.MountTargetDescription
	sgs   map[string][]string // mount target -> security groups
	aps   []efstypes.AccessPointDescription
	calls []string
}

func (f *fakeEFS) call(c string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, c)
}

func (f *fakeEFS) DescribeFileSystems(_ context.Context, in *efs.DescribeFileSystemsInput, _ ...func(*efs.Options)) (*efs.DescribeFileSystemsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fs == nil || (in.CreationToken != nil && aws.ToString(f.fs.CreationToken) != *in.CreationToken) {
		if in.FileSystemId != nil {
			return nil, apiErr("FileSystemNotFound")
		}
		return &efs.DescribeFileSystemsOutput{}, nil
	}
	return &efs.DescribeFileSystemsOutput{FileSystems: []efstypes.FileSystemDescription{*f.fs}}, nil
}

func (f *fakeEFS) CreateFileSystem(_ context.Context, in *efs.CreateFileSystemInput, _ ...func(*efs.Options)) (*efs.CreateFileSystemOutput, error) {
	f.call("create file system")
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fs = &efstypes.FileSystemDescription{FileSystemId: aws.String("fs-new"), CreationToken: in.CreationToken, Tags: in.Tags,
		LifeCycleState: efstypes.LifeCycleStateAvailable, Encrypted: in.Encrypted}
	return &efs.CreateFileSystemOutput{FileSystemId: f.fs.FileSystemId}, nil
}

func (f *fakeEFS) DescribeMountTargets(_ context.Context, in *efs.DescribeMountTargetsInput, _ ...func(*efs.Options)) (*efs.DescribeMountTargetsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []efstypes.MountTargetDescription
	for _, mt := range f.mts {
		if in.MountTargetId == nil || aws.ToString(mt.MountTargetId) == *in.MountTargetId {
			out = append(out, mt)
		}
	}
	return &efs.DescribeMountTargetsOutput{MountTargets: out}, nil
}

func (f *fakeEFS) CreateMountTarget(_ context.Context, in *efs.CreateMountTargetInput, _ ...func(*efs.Options)) (*efs.CreateMountTargetOutput, error) {
	f.call("create mount target in " + aws.ToString(in.SubnetId))
	f.mu.Lock()
	defer f.mu.Unlock()
	id := "fsmt-" + aws.ToString(in.SubnetId)
	f.mts = append(f.mts, efstypes.MountTargetDescription{MountTargetId: &id, SubnetId: in.SubnetId, FileSystemId: in.FileSystemId, LifeCycleState: efstypes.LifeCycleStateAvailable})
	f.sgs[id] = in.SecurityGroups
	return &efs.CreateMountTargetOutput{MountTargetId: &id}, nil
}

func (f *fakeEFS) DescribeMountTargetSecurityGroups(_ context.Context, in *efs.DescribeMountTargetSecurityGroupsInput, _ ...func(*efs.Options)) (*efs.DescribeMountTargetSecurityGroupsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return &efs.DescribeMountTargetSecurityGroupsOutput{SecurityGroups: f.sgs[aws.ToString(in.MountTargetId)]}, nil
}

func (f *fakeEFS) ModifyMountTargetSecurityGroups(_ context.Context, in *efs.ModifyMountTargetSecurityGroupsInput, _ ...func(*efs.Options)) (*efs.ModifyMountTargetSecurityGroupsOutput, error) {
	f.call("set security group of " + aws.ToString(in.MountTargetId))
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sgs[aws.ToString(in.MountTargetId)] = in.SecurityGroups
	return &efs.ModifyMountTargetSecurityGroupsOutput{}, nil
}

func (f *fakeEFS) DescribeAccessPoints(_ context.Context, in *efs.DescribeAccessPointsInput, _ ...func(*efs.Options)) (*efs.DescribeAccessPointsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []efstypes.AccessPointDescription
	for _, ap := range f.aps {
		if in.AccessPointId == nil || aws.ToString(ap.AccessPointId) == *in.AccessPointId {
			out = append(out, ap)
		}
	}
	return &efs.DescribeAccessPointsOutput{AccessPoints: out}, nil
}

func (f *fakeEFS) CreateAccessPoint(_ context.Context, in *efs.CreateAccessPointInput, _ ...func(*efs.Options)) (*efs.CreateAccessPointOutput, error) {
	f.call("create access point")
	f.mu.Lock()
	defer f.mu.Unlock()
	if aws.ToInt64(in.PosixUser.Uid) != 1000 || aws.ToString(in.RootDirectory.Path) != "/jenkins_home" || aws.ToInt64(in.RootDirectory.CreationInfo.OwnerUid) != 1000 {
		return nil, apiErr("BadRequest")
	}
	f.aps = append(f.aps, efstypes.AccessPointDescription{AccessPointId: aws.String("fsap-new"), Tags: in.Tags, FileSystemId: in.FileSystemId, LifeCycleState: efstypes.LifeCycleStateAvailable})
	return &efs.CreateAccessPointOutput{AccessPointId: aws.String("fsap-new")}, nil
}

func TestEnsureHome(t *testing.T) {
	stg := tags.EFS(tags.Set{Env: "stg", Step: StepName, Run: "r0"}.Map("stg-jenkins-home"))
	for _, tc := range []struct {
		name   string
		fake   func() *fakeEFS
		dryRun bool
		calls  string
		err    string
	}{
		{name: "from nothing", fake: func() *fakeEFS { return &fakeEFS{sgs: map[string][]string{}} },
			calls: "create access point; create file system; create mount target in subnet-a; create mount target in subnet-b"},
		{name: "dry run from nothing", dryRun: true, fake: func() *fakeEFS { return &fakeEFS{sgs: map[string][]string{}} }},
		{name: "completes a partial home", fake: func() *fakeEFS {
			return &fakeEFS{
				fs:  &efstypes.FileSystemDescription{FileSystemId: aws.String("fs-1"), CreationToken: aws.String(creationToken("stg")), Tags: stg, LifeCycleState: efstypes.LifeCycleStateAvailable},
				mts: []efstypes.MountTargetDescription{{MountTargetId: aws.String("fsmt-a"), SubnetId: aws.String("subnet-a"), LifeCycleState: efstypes.LifeCycleStateAvailable}},
				sgs: map[string][]string{"fsmt-a": {"sg-old"}},
				aps: []efstypes.AccessPointDescription{{AccessPointId: aws.String("fsap-1"), Tags: stg, LifeCycleState: efstypes.LifeCycleStateAvailable}},
			}
		}, calls: "create mount target in subnet-b; set security group of fsmt-a"},
		{name: "refuses another environment's", fake: func() *fakeEFS {
			return &fakeEFS{sgs: map[string][]string{}, fs: &efstypes.FileSystemDescription{FileSystemId: aws.String("fs-1"), CreationToken: aws.String(creationToken("stg")),
				Tags: tags.EFS(map[string]string{tags.Env: "prod"}), LifeCycleState: efstypes.LifeCycleStateAvailable}}
		}, err: `belongs to environment "prod"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := tc.fake()
			b := testBuilder(nil, tc.dryRun)
			b.EFS = api
			b.Wait = wait.Options{Interval: time.Millisecond, Max: time.Second}
			home, err := b.EnsureHome(context.Background(), []string{"subnet-a", "subnet-b"}, "sg-efs")
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			sort.Strings(api.calls)
			if got := strings.Join(api.calls, "; "); got != tc.calls {
				t.Fatalf("calls %q, want %q", got, tc.calls)
			}
			if tc.dryRun {
				if n := b.Summary.Count(step.WouldCreate); n != 4 {
					t.Fatalf("%d would create, want 4: %+v", n, b.Summary.Items())
				}
				return
			}
			if home.FileSystemID == "" || home.AccessPointID == "" || len(home.MountTargetIDs) != 2 {
				t.Fatalf("home %+v", home)
			}
			for _, mt := range home.MountTargetIDs {
				if sg := api.sgs[mt]; len(sg) != 1 || sg[0] != "sg-efs" {
					t.Errorf("mount target %s in %v", mt, sg)
				}
			}
			if api.fs.Encrypted != nil && !aws.ToBool(api.fs.Encrypted) {
				t.Error("file system not encrypted")
			}
		})
	}
}
