package load

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
)

// recorder records the frames a reader hands on; a text frame "stop" ends
// the stream like a handler error.
type recorder struct{ got []string }

var errStop = errors.New("stop")

func (r *recorder) handleFrame(op byte, p []byte) error {
	r.got = append(r.got, fmt.Sprintf("%x:%s", op, p))
	if op == opText && string(p) == "stop" {
		return errStop
	}
	return nil
}

// feed passes data to a reader in pieces of the given sizes (cycled) and
// returns what it handed on and how it ended.
func feed(data []byte, pieces []byte) ([]string, error) {
	var (
		r   reader
		rec recorder
	)
	for i := 0; len(data) > 0; i++ {
		n := len(data)
		if len(pieces) > 0 {
			n = min(int(pieces[i%len(pieces)])+1, len(data))
		}
		b := r.buf()
		n = min(n, cap(b)-len(b))
		*r.in = append(b, data[:n]...)
		data = data[n:]
		if err := r.consume(&rec); err != nil {
			return rec.got, err
		}
		r.release()
	}
	if r.pending() {
		return rec.got, errors.New("incomplete")
	}
	return rec.got, nil
}

// FuzzReader: however a stream is cut into reads, the reader hands on the
// same frames and ends the same way; it never panics.
func FuzzReader(f *testing.F) {
	msg := func(op byte, p string) []byte {
		b := appendFrame(nil, op, []byte(p)) // masked: the reader unmasks
		b[0] = b[0]&0x80 | op&0x7f
		return b
	}
	var fragmented []byte
	fragmented = append(fragmented, 0x01, 3, 'a', 'b', 'c') // text, not final
	fragmented = append(fragmented, 0x89, 1, 'p')           // ping within
	fragmented = append(fragmented, 0x80, 2, 'd', 'e')      // final continuation
	f.Add(fragmented, []byte{0, 1, 2})
	f.Add(append(msg(0x81, "hello"), msg(0x81, string(make([]byte, 300)))...), []byte{5, 200})
	f.Add(append([]byte{0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0}, make([]byte, 1<<16)...), []byte{255})
	f.Add(append(msg(0x81, "stop"), msg(0x81, "after")...), []byte{1})
	f.Add([]byte{0x81, 127, 0xff, 0, 0, 0, 0, 0, 0, 0}, []byte{})
	f.Add([]byte{0x00, 1, 'x'}, []byte{0})
	f.Fuzz(func(t *testing.T, data, pieces []byte) {
		want, wantErr := feed(data, nil)
		got, err := feed(data, pieces)
		assert.Equal(t, want, got)
		assert.Equal(t, fmt.Sprint(wantErr), fmt.Sprint(err))
	})
}

func TestReaderFragments(t *testing.T) {
	data := []byte{0x01, 3, 'a', 'b', 'c', 0x89, 1, 'p', 0x00, 1, 'd', 0x80, 2, 'e', 'f', 0x81, 1, 'g'}
	got, err := feed(data, []byte{0})
	assert.NoError(t, err)
	assert.Equal(t, []string{"9:p", "1:abcdef", "1:g"}, got)
}
