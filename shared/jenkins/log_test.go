package jenkins

import (
	"testing"

	"github.com/sirupsen/logrus"
	"github.com/sirupsen/logrus/hooks/test"
)

func TestLeveledLogger(t *testing.T) {
	l, hook := test.NewNullLogger()
	l.SetLevel(logrus.DebugLevel)
	a := NewLeveledLogger(l.WithField("step", "provision-jenkins"))

	a.Error("request failed", "method", "GET", "error", "boom")
	a.Warn("warn")
	a.Info("info", "odd")
	a.Debug("retrying request", "remaining", 3)

	want := []struct {
		level  logrus.Level
		msg    string
		fields logrus.Fields
	}{
		{logrus.WarnLevel, "request failed", logrus.Fields{"step": "provision-jenkins", "method": "GET", "error": "boom"}},
		{logrus.WarnLevel, "warn", logrus.Fields{"step": "provision-jenkins"}},
		{logrus.InfoLevel, "info", logrus.Fields{"step": "provision-jenkins", "extra": "odd"}},
		{logrus.DebugLevel, "retrying request", logrus.Fields{"step": "provision-jenkins", "remaining": 3}},
	}
	entries := hook.AllEntries()
	if len(entries) != len(want) {
		t.Fatalf("%d entries, want %d", len(entries), len(want))
	}
	for i, w := range want {
		e := entries[i]
		if e.Level != w.level || e.Message != w.msg || len(e.Data) != len(w.fields) {
			t.Errorf("entry %d: %v %q %v; want %v %q %v", i, e.Level, e.Message, e.Data, w.level, w.msg, w.fields)
			continue
		}
		for k, v := range w.fields {
			if e.Data[k] != v {
				t.Errorf("entry %d: %s = %v, want %v", i, k, e.Data[k], v)
			}
		}
	}
}
