package jenkins

import (
	"fmt"

	"github.com/hashicorp/go-retryablehttp"
	"github.com/sirupsen/logrus"
)

// NewLeveledLogger adapts a logrus logger to retryablehttp.LeveledLogger; the
// key/value pairs become logrus fields.
//
// retryablehttp reports every failed attempt as an error, including those it
// retries and those its caller handles; the adapter logs them as warnings so
// that the error level is left to whoever finally handles the error.
func NewLeveledLogger(l logrus.FieldLogger) retryablehttp.LeveledLogger {
	return leveledLogger{l: l}
}

type leveledLogger struct{ l logrus.FieldLogger }

func (a leveledLogger) Error(msg string, kv ...interface{}) { a.with(kv).Warn(msg) }
func (a leveledLogger) Warn(msg string, kv ...interface{})  { a.with(kv).Warn(msg) }
func (a leveledLogger) Info(msg string, kv ...interface{})  { a.with(kv).Info(msg) }
func (a leveledLogger) Debug(msg string, kv ...interface{}) { a.with(kv).Debug(msg) }

func (a leveledLogger) with(kv []interface{}) logrus.FieldLogger {
	if len(kv) == 0 {
		return a.l
	}
	fields := make(logrus.Fields, (len(kv)+1)/2)
	for i := 0; i < len(kv); i += 2 {
		if i+1 == len(kv) {
			fields["extra"] = kv[i]
			break
		}
		fields[fmt.Sprint(kv[i])] = kv[i+1]
	}
	return a.l.WithFields(fields)
}
