package app

import (
	"reflect"

	"go.uber.org/fx/fxevent"
	"go.uber.org/zap"
)

// fxLogger reports fx's failures only: its per-constructor events would bury
// the access log of a development server.
type fxLogger struct{ z *fxevent.ZapLogger }

func newFxLogger(log *zap.Logger) fxevent.Logger {
	return fxLogger{z: &fxevent.ZapLogger{Logger: log.Named("fx")}}
}

func (l fxLogger) LogEvent(e fxevent.Event) {
	v := reflect.ValueOf(e)
	if v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return
	}
	if f := v.FieldByName("Err"); f.IsValid() && !f.IsNil() {
		l.z.LogEvent(e)
	}
}
