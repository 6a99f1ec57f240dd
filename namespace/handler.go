package namespace

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
)

// AckFunc answers an event that asked for an acknowledgement. Call it once;
// a second call returns [ErrAckSent].
type AckFunc func(args ...any) error

// Event is an event received from a client.
type Event struct {
	// Name is the event name.
	Name string
	// Args are the arguments after the name.
	Args Args
	// Ack answers the client's acknowledgement request; nil when the client
	// did not ask for one.
	Ack AckFunc
	// Socket is the socket the event arrived on.
	Socket *Socket
}

// eventHandler is a compiled handler: the common func(*Event) form is kept
// as it is, every other form is wrapped in gen.
type eventHandler struct {
	fn  func(*Event)
	gen func(*Event) error
}

// ok reports whether h holds a handler.
func (h eventHandler) ok() bool { return h.fn != nil || h.gen != nil }

// call runs the handler for e.
func (h eventHandler) call(e *Event) error {
	if h.fn != nil {
		h.fn(e)
		return nil
	}
	return h.gen(e)
}

// eventContext is the context handed to handlers that take one: the
// socket's, or context.Background() for server-side events.
func eventContext(e *Event) context.Context {
	if e.Socket != nil {
		return e.Socket.Context()
	}
	return context.Background()
}

var (
	typeEvent   = reflect.TypeFor[*Event]()
	typeAckFunc = reflect.TypeFor[AckFunc]()
	typeAckVar  = reflect.TypeFor[func(...any) error]()
	typeAckVar0 = reflect.TypeFor[func(...any)]()
	typeError   = reflect.TypeFor[error]()
	typeContext = reflect.TypeFor[context.Context]()
	typeSocket  = reflect.TypeFor[*Socket]()
)

// compileHandler turns the function given to Socket.On into an
// eventHandler. Accepted forms, with any parameter type T that
// encoding/json can decode into ([]byte receives binary data):
//
//	func(*Event)
//	func(a T1, b T2, ...)                   // arguments decoded in order
//	func(a T1, ..., ack AckFunc)            // last parameter: the ack
//	func(a T1, rest ...T)                   // remaining arguments
//	func(ctx context.Context, ...)          // first parameter: the socket's context
//
// An ack parameter may also be written func(...any) error or func(...any).
// The function may return nothing or an error; an error is logged.
// Anything else panics: it is a programming error, found at registration.
func compileHandler(fn any) eventHandler {
	switch f := fn.(type) {
	case func(*Event):
		if f == nil { // registered, failing when called
			return eventHandler{gen: func(e *Event) error { f(e); return nil }}
		}
		return eventHandler{fn: f}
	case func(*Event) error:
		if f == nil {
			return eventHandler{gen: func(e *Event) error { return f(e) }}
		}
		return eventHandler{gen: f}
	case func():
		return eventHandler{gen: func(*Event) error { f(); return nil }}
	}
	v := reflect.ValueOf(fn)
	t := v.Type()
	if t.Kind() != reflect.Func {
		panic(fmt.Sprintf("namespace: On: handler must be a function, not %T", fn))
	}
	if t.NumOut() > 1 || (t.NumOut() == 1 && t.Out(0) != typeError) {
		panic(fmt.Sprintf("namespace: On: handler %T may only return an error", fn))
	}
	in := make([]reflect.Type, t.NumIn())
	for i := range in {
		in[i] = t.In(i)
	}
	first, last := 0, len(in)
	withCtx := len(in) > 0 && in[0] == typeContext
	if withCtx {
		first = 1
	}
	ackKind := 0 // 0 none, 1 AckFunc, 2 func(...any) error, 3 func(...any)
	if last > first && !t.IsVariadic() {
		switch in[last-1] {
		case typeAckFunc:
			ackKind = 1
		case typeAckVar:
			ackKind = 2
		case typeAckVar0:
			ackKind = 3
		}
		if ackKind != 0 {
			last--
		}
	}
	variadic := t.IsVariadic()
	for _, p := range in[first:last] {
		if p == typeEvent || p == typeSocket || p == typeContext {
			panic(fmt.Sprintf("namespace: On: handler %T: unsupported parameter %v", fn, p))
		}
	}
	nArgs := last - first
	return eventHandler{gen: func(e *Event) error {
		vals := make([]reflect.Value, 0, len(in)+e.Args.Len())
		if withCtx {
			vals = append(vals, reflect.ValueOf(eventContext(e)))
		}
		fixed := nArgs
		if variadic {
			fixed--
		}
		for i := 0; i < fixed; i++ {
			p := reflect.New(in[first+i])
			if i < e.Args.Len() {
				if err := decodeArg(e.Args, i, p.Interface()); err != nil {
					return err
				}
			}
			vals = append(vals, p.Elem())
		}
		var rest reflect.Value
		if variadic {
			n := max(e.Args.Len()-fixed, 0)
			rest = reflect.MakeSlice(in[last-1], n, n)
			for j := 0; j < n; j++ {
				if err := decodeArg(e.Args, fixed+j, rest.Index(j).Addr().Interface()); err != nil {
					return err
				}
			}
		}
		if ackKind != 0 {
			ack := e.Ack
			if ack == nil {
				ack = func(...any) error { return nil }
			}
			switch ackKind {
			case 1:
				vals = append(vals, reflect.ValueOf(ack))
			case 2:
				vals = append(vals, reflect.ValueOf((func(...any) error)(ack)))
			case 3:
				vals = append(vals, reflect.ValueOf(func(args ...any) { _ = ack(args...) }))
			}
		}
		var out []reflect.Value
		if variadic {
			out = v.CallSlice(append(vals, rest))
		} else {
			out = v.Call(vals)
		}
		if len(out) == 1 && !out[0].IsNil() {
			return out[0].Interface().(error)
		}
		return nil
	}}
}

// decodeArg decodes argument i into the pointer p.
func decodeArg(a Args, i int, p any) error {
	if err := a.Decode(i, p); err != nil {
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) {
			return fmt.Errorf("namespace: argument %d: %s cannot go into %s", i, ute.Value, ute.Type)
		}
		return err
	}
	return nil
}
