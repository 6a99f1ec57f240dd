package namespace

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
)

// AckFunc answers an event that asked for an acknowledgement. Call it once;
// a second call returns [ErrAckSent].
type AckFunc func(args ...any) error

// Event is an event received from a client (or, for OnAnyOutgoing
// listeners, about to be sent to it).
type Event struct {
	// Name is the event name.
	Name string
	// Args are the arguments after the name.
	Args Args
	// Ack answers the client's acknowledgement request; nil when the client
	// did not ask for one.
	Ack AckFunc
	// Socket is the socket the event arrived on; nil for server-side events
	// ([Namespace.OnServerSideEmit]).
	Socket *Socket

	in *inbound // the event as received from a client; nil otherwise
}

// Context is the socket's context ([Socket.Context]), cancelled when it
// disconnects; context.Background() for server-side events.
func (e *Event) Context() context.Context {
	if e.Socket != nil {
		return e.Socket.Context()
	}
	return context.Background()
}

// AckError is the argument a typed handler ([Handle], [HandleAck]) acks
// with when it fails, or when the client's data does not fit its type:
// the client's ack callback receives {"error": "..."}, the convention
// socket.io applications use.
type AckError struct {
	Error string `json:"error"`
}

// fail answers an event a typed handler could not serve: the client gets
// {"error": ...} when it asked for an ack, the log gets the error.
func (e *Event) fail(err error) {
	s := e.Socket
	if e.Ack != nil {
		if aerr := e.Ack(AckError{Error: err.Error()}); aerr != nil && !errors.Is(aerr, ErrAckSent) {
			err = errors.Join(err, aerr)
		}
	}
	if s != nil {
		s.ns.logger.Warn("namespace: event handler failed", "namespace", s.ns.name, "socket", s.id, "event", e.Name, "err", err)
	}
}

// Handle adds to event's listeners on s a handler that receives the
// event's first argument decoded into a T (from JSON; a []byte receives
// binary data; a missing argument leaves the zero T). The context is the
// socket's. It returns the [Listener], for [Listener.Off].
//
//	namespace.Handle(s, "move", func(ctx context.Context, p Point) error {
//		return s.To("game").Emit("moved", p)
//	})
//
// When the client's data does not fit T, fn is not called; when it is
// not, or fn returns an error, and the client asked for an ack, the ack is
// called with {"error": message} ([AckError]) and the error is logged.
// The message of an error fn returns reaches the client: return errors
// meant for it. On success, an ack the client asked for is called with
// no arguments.
//
// fn must not be nil (Handle panics). For several arguments, use
// [Socket.On] and [Args.Scan].
func Handle[T any](s *Socket, event string, fn func(ctx context.Context, v T) error) Listener {
	if fn == nil {
		nilHandler("Handle")
	}
	return s.On(event, func(e *Event) {
		var v T
		if err := decodeFirst(e.Args, &v); err != nil {
			e.fail(err)
			return
		}
		if err := fn(e.Context(), v); err != nil {
			e.fail(err)
			return
		}
		if e.Ack != nil {
			_ = e.Ack()
		}
	})
}

// HandleAck is [Handle] for an event the client sends with an ack
// callback: fn's result R is the ack's argument. When fn fails, or the
// client's data does not fit T, the ack gets {"error": message}
// ([AckError]) instead. When the client asked for no ack, the result is
// dropped.
//
//	namespace.HandleAck(s, "sum", func(ctx context.Context, xs []float64) (float64, error) {
//		total := 0.0
//		for _, x := range xs {
//			total += x
//		}
//		return total, nil
//	})
func HandleAck[T, R any](s *Socket, event string, fn func(ctx context.Context, v T) (R, error)) Listener {
	if fn == nil {
		nilHandler("HandleAck")
	}
	return s.On(event, func(e *Event) {
		var v T
		if err := decodeFirst(e.Args, &v); err != nil {
			e.fail(err)
			return
		}
		r, err := fn(e.Context(), v)
		if err != nil {
			e.fail(err)
			return
		}
		if e.Ack == nil {
			return
		}
		if e.in == nil {
			if err := e.Ack(r); err != nil {
				e.fail(err)
			}
			return
		}
		// A result that cannot be encoded is answered with the error, not
		// left for the client to time out on.
		if err := e.in.ackOr(r); err != nil {
			e.fail(err)
		}
	})
}

// EmitWithAck sends event to the socket's client asking for an
// acknowledgement, waits for it as [Socket.EmitWithAck] does, and decodes
// the ack's first argument into an R. An ack that does not fit R is an
// error wrapping an [*ArgError].
//
//	n, err := namespace.EmitWithAck[int](ctx, s, "count")
func EmitWithAck[R any](ctx context.Context, s *Socket, event string, args ...any) (R, error) {
	var r R
	a, err := s.EmitWithAck(ctx, event, args...)
	if err != nil {
		return r, err
	}
	if err := decodeFirst(a, &r); err != nil {
		return r, fmt.Errorf("namespace: ack for %q: %w", event, err)
	}
	return r, nil
}

// decodeFirst decodes the first argument into p; a missing one leaves p
// untouched.
func decodeFirst(a Args, p any) error {
	if a.Len() == 0 {
		return nil
	}
	return a.Decode(0, p)
}

// ArgError is the error of an argument that does not fit the type it is
// decoded into (Args.Decode, Handle, HandleAck): which argument, the field
// path inside it, what was wanted and what came.
type ArgError struct {
	Index int    // the argument's position, from 0
	Field string // e.g. "Point.X"; "" for the argument itself
	Want  string // JSON kind wanted: "number", "string", "object"...
	Got   string // JSON kind received
	Err   error  // the decoder's error
}

func (e *ArgError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "namespace: argument %d", e.Index)
	if e.Field != "" {
		fmt.Fprintf(&b, " (%s)", e.Field)
	}
	if e.Want != "" {
		fmt.Fprintf(&b, ": want %s, got %s", e.Want, e.Got)
	} else if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	return b.String()
}

func (e *ArgError) Unwrap() error { return e.Err }

// argError describes the error of decoding argument i into v.
func argError(i int, v any, err error) error {
	ae := &ArgError{Index: i, Err: err}
	var ute *json.UnmarshalTypeError
	if errors.As(err, &ute) {
		ae.Want, ae.Got = jsonKind(ute.Type), ute.Value
		if ae.Got == "bool" {
			ae.Got = "boolean" // JSON's name, as in Want
		}
		if ute.Field != "" {
			ae.Field = ute.Field // the path from v's type, e.g. "Origin.Y"
			if t := reflect.TypeOf(v); t != nil && t.Kind() == reflect.Pointer && t.Elem().Name() != "" {
				ae.Field = t.Elem().Name() + "." + ae.Field
			}
		}
	}
	return ae
}

// jsonKind names the JSON kind a Go type decodes from (on the error path
// only).
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "value"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64:
		return "number"
	case reflect.String:
		return "string"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return "binary"
		}
		return "array"
	case reflect.Array:
		return "array"
	case reflect.Map, reflect.Struct:
		return "object"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return t.String()
}
