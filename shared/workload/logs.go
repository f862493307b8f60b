package workload

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logstypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/stagehand/stagehand/shared/awserr"
	"github.com/stagehand/stagehand/shared/step"
)

// LogGroupPrefix is where every log group of environment env lives
// ("/stagehand/ENV/"); verify-clean lists the log groups under it.
func LogGroupPrefix(env string) string { return "/stagehand/" + env + "/" }

// EnsureLogGroup makes the log group name exist with retentionDays and the
// tags tagMap (which must carry stagehand:env). A log group that exists is
// kept when it carries the environment's tag (its retention is corrected if
// it differs) and refused otherwise. created reports that it was (or, in a
// dry run, would be) created.
func (b *Builder) EnsureLogGroup(ctx context.Context, name string, retentionDays int, tagMap map[string]string) (created bool, err error) {
	g, err := findLogGroup(ctx, b.Logs, name)
	if err != nil {
		return false, err
	}
	if g == nil {
		if b.DryRun {
			b.would(false, KindLogGroup, "", name)
			return true, nil
		}
		_, err := b.Logs.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: &name, Tags: tagMap})
		if err != nil && !awserr.Exists(err) {
			return false, fmt.Errorf("create log group %s: %w", name, err)
		}
		if err == nil {
			if err := b.putRetention(ctx, name, retentionDays); err != nil {
				return false, err
			}
			b.record(step.Created, KindLogGroup, name, fmt.Sprintf("retention %d days", retentionDays))
			return true, nil
		}
		// Created in between by another run: check it like any other.
		if g, err = findLogGroup(ctx, b.Logs, name); err != nil {
			return false, err
		}
		if g == nil {
			return false, fmt.Errorf("log group %s: reported to exist, but not found", name)
		}
	}
	out, err := b.Logs.ListTagsForResource(ctx, &cloudwatchlogs.ListTagsForResourceInput{ResourceArn: aws.String(logGroupARN(*g))})
	if err != nil {
		return false, fmt.Errorf("list tags of log group %s: %w", name, err)
	}
	if err := b.owned(KindLogGroup, name, out.Tags); err != nil {
		return false, err
	}
	if int(aws.ToInt32(g.RetentionInDays)) == retentionDays {
		b.record(step.Kept, KindLogGroup, name, "")
		return false, nil
	}
	if b.DryRun {
		b.would(true, KindLogGroup, name, fmt.Sprintf("retention %d days", retentionDays))
		return false, nil
	}
	if err := b.putRetention(ctx, name, retentionDays); err != nil {
		return false, err
	}
	b.record(step.Updated, KindLogGroup, name, fmt.Sprintf("retention %d days", retentionDays))
	return false, nil
}

func (b *Builder) putRetention(ctx context.Context, name string, days int) error {
	_, err := b.Logs.PutRetentionPolicy(ctx, &cloudwatchlogs.PutRetentionPolicyInput{LogGroupName: &name, RetentionInDays: aws.Int32(int32(days))})
	if err != nil {
		return fmt.Errorf("set retention of log group %s: %w", name, err)
	}
	return nil
}

// findLogGroup returns the log group called exactly name, or nil.
func findLogGroup(ctx context.Context, api cloudwatchlogs.DescribeLogGroupsAPIClient, name string) (*logstypes.LogGroup, error) {
	p := cloudwatchlogs.NewDescribeLogGroupsPaginator(api, &cloudwatchlogs.DescribeLogGroupsInput{LogGroupNamePrefix: &name})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("describe log groups %s: %w", name, err)
		}
		for i := range page.LogGroups {
			if aws.ToString(page.LogGroups[i].LogGroupName) == name {
				return &page.LogGroups[i], nil
			}
		}
	}
	return nil, nil
}

// logGroupARN is the ARN the tagging calls take: without the ":*" that
// DescribeLogGroups' "arn" field ends with.
func logGroupARN(g logstypes.LogGroup) string {
	if g.LogGroupArn != nil {
		return *g.LogGroupArn
	}
	return strings.TrimSuffix(aws.ToString(g.Arn), ":*")
}
