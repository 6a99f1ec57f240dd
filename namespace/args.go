package namespace

import (
	"encoding/json"
	"fmt"

	"github.com/go-realtime/realtime/internal/socketio"
)

// RawArg is an argument received with binary data nested inside it: its
// JSON (placeholders included) and the attachments they point at. Emitting
// a RawArg sends it on unchanged, binary included.
type RawArg = socketio.RawArg

// Args are the arguments of an event or an ack as the client sent them.
// They stay valid after the handler returns.
type Args struct {
	raw         [][]byte
	attachments [][]byte
}

// Len is the number of arguments.
func (a Args) Len() int { return len(a.raw) }

// Raw returns argument i's JSON text as sent (binary arguments appear as
// placeholders), or nil when there is no argument i.
func (a Args) Raw(i int) json.RawMessage {
	if i < 0 || i >= len(a.raw) {
		return nil
	}
	return a.raw[i]
}

// Binary returns argument i when it is binary data.
func (a Args) Binary(i int) ([]byte, bool) {
	if i < 0 || i >= len(a.raw) {
		return nil, false
	}
	return socketio.ResolveBinary(a.raw[i], a.attachments)
}

// Decode decodes argument i into v like json.Unmarshal; binary data goes
// into []byte values (also []byte struct fields). It returns [ErrNoArg]
// when the client sent fewer arguments, and an [*ArgError] naming the
// field when the data does not fit v. A *json.RawMessage receives the
// argument's JSON as sent, without a copy (binary placeholders resolved
// when there are some).
func (a Args) Decode(i int, v any) error {
	if i < 0 || i >= len(a.raw) {
		return fmt.Errorf("%w: %d of %d", ErrNoArg, i, len(a.raw))
	}
	switch p := v.(type) {
	case *[]byte:
		if b, ok := socketio.ResolveBinary(a.raw[i], a.attachments); ok {
			*p = b
			return nil
		}
	case *json.RawMessage:
		if len(a.attachments) == 0 || !hasPlaceholder(a.raw[i]) {
			*p = a.raw[i] // valid JSON, kept as received: not copied
			return nil
		}
	}
	if err := socketio.Unmarshal(a.raw[i], a.attachments, v); err != nil {
		return argError(i, v, err)
	}
	return nil
}

// Scan decodes the arguments into vs in order, as Decode does; missing
// arguments leave their targets untouched.
func (a Args) Scan(vs ...any) error {
	for i, v := range vs {
		if i >= len(a.raw) {
			return nil
		}
		if err := a.Decode(i, v); err != nil {
			return err
		}
	}
	return nil
}

// Values returns the arguments in a form that emits back exactly as
// received: json.RawMessage for plain JSON (key order kept), []byte for a
// binary argument, [RawArg] for JSON with binary inside.
func (a Args) Values() []any {
	out := make([]any, len(a.raw))
	for i, raw := range a.raw {
		out[i] = a.value(raw)
	}
	return out
}

func (a Args) value(raw []byte) any {
	if len(a.attachments) > 0 {
		if b, ok := socketio.ResolveBinary(raw, a.attachments); ok {
			return b
		}
		if hasPlaceholder(raw) {
			return RawArg{JSON: raw, Attachments: a.attachments}
		}
	}
	return json.RawMessage(raw)
}

// hasPlaceholder reports whether raw may contain a binary placeholder.
func hasPlaceholder(raw []byte) bool {
	const key = `"_placeholder"`
	for i := 0; i+len(key) <= len(raw); i++ {
		if raw[i] == '"' && string(raw[i:i+len(key)]) == key {
			return true
		}
	}
	return false
}

// argsOf splits a decoded packet's JSON array into Args, skipping the
// first skip elements (the event name).
func argsOf(data []byte, attachments [][]byte, skip int) (Args, error) {
	raw, err := socketio.SplitArgs(data)
	if err != nil {
		return Args{}, err
	}
	if skip > len(raw) {
		skip = len(raw)
	}
	return Args{raw: raw[skip:], attachments: attachments}, nil
}

// newArgs returns the Args held by a JSON array (with placeholders for the
// binary attachments): for hubtest's clients, which receive packets
// themselves.
func newArgs(data json.RawMessage, attachments [][]byte) (Args, error) {
	a, err := argsOf(data, attachments, 0)
	if err != nil {
		return Args{}, fmt.Errorf("namespace: %w", err)
	}
	return a, nil
}

// parseEvent splits an EVENT packet's JSON array into the event name and
// its arguments.
func parseEvent(data json.RawMessage, attachments [][]byte) (name string, args Args, err error) {
	raw, err := socketio.SplitArgs(data)
	if err != nil || len(raw) == 0 {
		return "", Args{}, badEvent(data, err)
	}
	return eventName(raw[0]), Args{raw: raw[1:], attachments: attachments}, nil
}

func badEvent(data []byte, err error) error {
	return fmt.Errorf("namespace: bad event payload %.40q: %v", data, err)
}

// eventName decodes an event name, the first element of an EVENT array.
func eventName(raw []byte) string {
	if plain, ok := socketio.EventName(raw); ok {
		return string(plain)
	}
	var name string
	if json.Unmarshal(raw, &name) != nil {
		name = string(raw) // a numeric event name
	}
	return name
}
