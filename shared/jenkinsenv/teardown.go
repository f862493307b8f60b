package jenkinsenv

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/efs"
	efstypes "github.com/aws/aws-sdk-go-v2/service/efs/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	smtypes "github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/sirupsen/logrus"

	"github.com/stagehand/stagehand/shared/artifact"
	"github.com/stagehand/stagehand/shared/awserr"
	"github.com/stagehand/stagehand/shared/resource"
	"github.com/stagehand/stagehand/shared/tags"
	"github.com/stagehand/stagehand/shared/wait"
)

// Scope is what the teardown kinds of this package work on: the
// environment's resources carrying its tag (and, when Step is set, the tag
// stagehand:step=Step), plus the ids of jenkins.json when there is one.
type Scope struct {
	Env string
	// Step narrows the kinds to what one step created (destroy-jenkins sets
	// StepName); verify-clean leaves it empty to list every step's.
	Step string
	// Artifact, when not nil, adds its ids to what the tags find.
	Artifact *artifact.Jenkins
	Secrets  SecretsAPI
	EFS      EFSAPI
	Log      logrus.FieldLogger
	// Wait tunes the waits for deletions (zero: defaults).
	Wait wait.Options
}

// NewScope returns a Scope with clients made from cfg; step is "" to list
// every step's resources (verify-clean).
func NewScope(cfg aws.Config, env, step string, log logrus.FieldLogger) *Scope {
	return &Scope{Env: env, Step: step, Log: log, Secrets: secretsmanager.NewFromConfig(cfg), EFS: efs.NewFromConfig(cfg)}
}

// ours reports whether a tag map is in the scope.
func (s *Scope) ours(m map[string]string) bool {
	return tags.Is(m, s.Env) && (s.Step == "" || m[tags.Step] == s.Step)
}

func (s *Scope) wait() wait.Options {
	o := s.Wait
	if o.Max == 0 {
		o.Max = 10 * time.Minute
	}
	return o
}

// SecretKinds returns the secret kind (deleted last but one in
// destroy-jenkins, before the log group).
func SecretKinds(s *Scope) []resource.Kind { return []resource.Kind{&secrets{s}} }

// HomeKinds returns the persistent home's kinds in teardown order: access
// points → mount targets (waited gone) → file systems (waited gone).
func HomeKinds(s *Scope) []resource.Kind {
	return []resource.Kind{&accessPointKind{s}, &mountTargetKind{s}, &fileSystems{s}}
}

// Listers returns what verify-clean lists of this package: secrets and
// file systems (mount targets and access points live only inside a file
// system, and their network interfaces are listed with the network).
func Listers(s *Scope) []resource.Lister {
	return []resource.Lister{&secrets{s}, &fileSystems{s}}
}

// ---- secrets

type secrets struct{ s *Scope }

func (k *secrets) Kind() string { return KindSecret }

func (k *secrets) List(ctx context.Context) ([]resource.Resource, error) {
	var rs []resource.Resource
	add := func(e smtypes.SecretListEntry) {
		if e.DeletedDate != nil || !k.s.ours(tags.FromSecretsManager(e.Tags)) {
			return
		}
		rs = resource.Merge(rs, []resource.Resource{{Kind: k.Kind(), ID: aws.ToString(e.ARN), Name: aws.ToString(e.Name)}})
	}
	p := secretsmanager.NewListSecretsPaginator(k.s.Secrets, &secretsmanager.ListSecretsInput{Filters: []smtypes.Filter{
		{Key: smtypes.FilterNameStringTypeTagKey, Values: []string{tags.Env}},
		{Key: smtypes.FilterNameStringTypeTagValue, Values: []string{k.s.Env}},
	}})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list secrets: %w", err)
		}
		for _, e := range page.SecretList {
			add(e)
		}
	}
	if a := k.s.Artifact; a != nil && a.AdminSecretARN != "" {
		out, err := k.s.Secrets.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: &a.AdminSecretARN})
		switch {
		case awserr.NotFound(err):
		case err != nil:
			return nil, fmt.Errorf("describe secret %s: %w", a.AdminSecretARN, err)
		default:
			add(smtypes.SecretListEntry{ARN: out.ARN, Name: out.Name, Tags: out.Tags, DeletedDate: out.DeletedDate})
		}
	}
	return rs, nil
}

// Remove deletes the secret without a recovery window, so that a rebuild
// can create it again under the same name.
func (k *secrets) Remove(ctx context.Context, r resource.Resource) error {
	_, err := k.s.Secrets.DeleteSecret(ctx, &secretsmanager.DeleteSecretInput{SecretId: &r.ID, ForceDeleteWithoutRecovery: aws.Bool(true)})
	if awserr.NotFound(err) {
		return resource.ErrGone
	}
	return err
}

// ---- file systems

// fileSystemsOf returns the scope's file systems that are not deleted.
func (s *Scope) fileSystemsOf(ctx context.Context) ([]efstypes.FileSystemDescription, error) {
	var out []efstypes.FileSystemDescription
	seen := map[string]bool{}
	keep := func(fs efstypes.FileSystemDescription, byID bool) {
		id := aws.ToString(fs.FileSystemId)
		if seen[id] || fs.LifeCycleState == efstypes.LifeCycleStateDeleted {
			return
		}
		// An id from jenkins.json is used only when the tags agree that
		// it is the environment's.
		if !s.ours(tags.FromEFS(fs.Tags)) && !(byID && tags.Is(tags.FromEFS(fs.Tags), s.Env)) {
			return
		}
		seen[id] = true
		out = append(out, fs)
	}
	p := efs.NewDescribeFileSystemsPaginator(s.EFS, &efs.DescribeFileSystemsInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe file systems: %w", err)
		}
		for _, fs := range page.FileSystems {
			keep(fs, false)
		}
	}
	if a := s.Artifact; a != nil && a.FileSystemID != "" && !seen[a.FileSystemID] {
		o, err := s.EFS.DescribeFileSystems(ctx, &efs.DescribeFileSystemsInput{FileSystemId: &a.FileSystemID})
		switch {
		case awserr.NotFound(err):
		case err != nil:
			return nil, fmt.Errorf("describe file system %s: %w", a.FileSystemID, err)
		default:
			for _, fs := range o.FileSystems {
				keep(fs, true)
			}
		}
	}
	return out, nil
}

type fileSystems struct{ s *Scope }

func (k *fileSystems) Kind() string { return KindFileSystem }

func (k *fileSystems) List(ctx context.Context) ([]resource.Resource, error) {
	fss, err := k.s.fileSystemsOf(ctx)
	if err != nil {
		return nil, err
	}
	var rs []resource.Resource
	for _, fs := range fss {
		rs = append(rs, resource.Resource{Kind: k.Kind(), ID: aws.ToString(fs.FileSystemId), Name: tags.FromEFS(fs.Tags)[tags.Name],
			State: string(fs.LifeCycleState), Detail: fmt.Sprintf("%d mount targets", fs.NumberOfMountTargets)})
	}
	return rs, nil
}

// Remove deletes the file system once its mount targets are gone (a
// deletion still under way is retried) and waits until it is gone.
func (k *fileSystems) Remove(ctx context.Context, r resource.Resource) error {
	if r.State != string(efstypes.LifeCycleStateDeleting) {
		err := wait.Retry(ctx, k.s.Log, wait.Target{Kind: k.Kind(), ID: r.ID}, 5*time.Minute, 5*time.Second, awserr.Dependency,
			func(ctx context.Context) error {
				_, err := k.s.EFS.DeleteFileSystem(ctx, &efs.DeleteFileSystemInput{FileSystemId: &r.ID})
				return awserr.Translate(err)
			})
		if awserr.NotFound(err) {
			return resource.ErrGone
		}
		if err != nil {
			return err
		}
	}
	return wait.Until(ctx, k.s.Log, wait.Target{Kind: k.Kind(), ID: r.ID}, k.s.wait(), func(ctx context.Context) (bool, string, error) {
		return fileSystemGone(ctx, k.s.EFS, r.ID)
	})
}

// ---- mount targets

type mountTargetKind struct{ s *Scope }

func (k *mountTargetKind) Kind() string { return KindMountTarget }

func (k *mountTargetKind) List(ctx context.Context) ([]resource.Resource, error) {
	fss, err := k.s.fileSystemsOf(ctx)
	if err != nil {
		return nil, err
	}
	var rs []resource.Resource
	for _, fs := range fss {
		mts, err := mountTargets(ctx, k.s.EFS, aws.ToString(fs.FileSystemId))
		if err != nil {
			return nil, err
		}
		for _, mt := range mts {
			if mt.LifeCycleState == efstypes.LifeCycleStateDeleted {
				continue
			}
			rs = append(rs, resource.Resource{Kind: k.Kind(), ID: aws.ToString(mt.MountTargetId), Name: aws.ToString(mt.SubnetId),
				State: string(mt.LifeCycleState), Detail: aws.ToString(mt.FileSystemId)})
		}
	}
	return rs, nil
}

// Remove deletes the mount target and waits until it is gone: its network
// interface holds the security group and the subnet until then.
func (k *mountTargetKind) Remove(ctx context.Context, r resource.Resource) error {
	if r.State != string(efstypes.LifeCycleStateDeleting) {
		_, err := k.s.EFS.DeleteMountTarget(ctx, &efs.DeleteMountTargetInput{MountTargetId: &r.ID})
		if awserr.NotFound(err) {
			return resource.ErrGone
		}
		if err != nil {
			return err
		}
	}
	return wait.Until(ctx, k.s.Log, wait.Target{Kind: k.Kind(), ID: r.ID}, k.s.wait(), func(ctx context.Context) (bool, string, error) {
		out, err := k.s.EFS.DescribeMountTargets(ctx, &efs.DescribeMountTargetsInput{MountTargetId: &r.ID})
		if awserr.NotFound(err) {
			return true, "gone", nil
		}
		if err != nil {
			return false, "", fmt.Errorf("describe mount target %s: %w", r.ID, err)
		}
		if len(out.MountTargets) == 0 || out.MountTargets[0].LifeCycleState == efstypes.LifeCycleStateDeleted {
			return true, "deleted", nil
		}
		return false, string(out.MountTargets[0].LifeCycleState), nil
	})
}

// ---- access points

type accessPointKind struct{ s *Scope }

func (k *accessPointKind) Kind() string { return KindAccessPoint }

func (k *accessPointKind) List(ctx context.Context) ([]resource.Resource, error) {
	fss, err := k.s.fileSystemsOf(ctx)
	if err != nil {
		return nil, err
	}
	var rs []resource.Resource
	for _, fs := range fss {
		aps, err := accessPoints(ctx, k.s.EFS, aws.ToString(fs.FileSystemId))
		if err != nil {
			return nil, err
		}
		for _, ap := range aps {
			if ap.LifeCycleState == efstypes.LifeCycleStateDeleted {
				continue
			}
			rs = append(rs, resource.Resource{Kind: k.Kind(), ID: aws.ToString(ap.AccessPointId), Name: aws.ToString(ap.Name),
				State: string(ap.LifeCycleState), Detail: aws.ToString(ap.FileSystemId)})
		}
	}
	return rs, nil
}

// Remove deletes the access point; the file system goes next.
func (k *accessPointKind) Remove(ctx context.Context, r resource.Resource) error {
	_, err := k.s.EFS.DeleteAccessPoint(ctx, &efs.DeleteAccessPointInput{AccessPointId: &r.ID})
	if awserr.NotFound(err) {
		return resource.ErrGone
	}
	return err
}
