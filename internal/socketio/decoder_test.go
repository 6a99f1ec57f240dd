package socketio

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/transport"
)

func text(s string) transport.Frame { return transport.Frame{Data: []byte("4" + s)} }

func TestDecoderBinaryReassembly(t *testing.T) {
	var d Decoder
	hdr := `53-/admin,7["upload",{"_placeholder":true,"num":0},{"meta":{"thumb":{"num":2,"_placeholder":true}}},{"_placeholder":true,"num":1}]`
	p, err := d.Add(text(hdr))
	require.NoError(t, err)
	require.Nil(t, p)
	assert.True(t, d.Pending())

	a0, a1, a2 := []byte("zero"), []byte{}, []byte{2, 2}
	p, err = d.Add(transport.BinaryFrame(a0))
	require.NoError(t, err)
	require.Nil(t, p)
	p, err = d.Add(transport.BinaryFrame(a1))
	require.NoError(t, err)
	require.Nil(t, p)
	p, err = d.Add(transport.BinaryFrame(a2))
	require.NoError(t, err)
	require.NotNil(t, p)
	assert.False(t, d.Pending())

	assert.Equal(t, BinaryEvent, p.Type)
	assert.Equal(t, "/admin", p.Namespace)
	assert.True(t, p.HasID)
	assert.Equal(t, uint64(7), p.ID)
	assert.Equal(t, hdr[len(`53-/admin,7`):], string(p.Data))
	require.Len(t, p.Attachments, 3)
	assert.Equal(t, a0, p.Attachments[0])
	assert.NotNil(t, p.Attachments[1]) // empty, not a missing slot
	assert.Empty(t, p.Attachments[1])
	assert.Equal(t, a2, p.Attachments[2])
	assert.Same(t, &a0[0], &p.Attachments[0][0], "attachments are not copied")

	args, err := SplitArgs(p.Data)
	require.NoError(t, err)
	require.Len(t, args, 4)
	b, ok := ResolveBinary(args[1], p.Attachments)
	require.True(t, ok)
	assert.Equal(t, a0, b)
	b, ok = ResolveBinary(args[3], p.Attachments)
	require.True(t, ok)
	assert.Empty(t, b)
	_, ok = ResolveBinary(args[2], p.Attachments)
	assert.False(t, ok, "nested: use Unmarshal")
	var meta struct {
		Meta struct {
			Thumb []byte `json:"thumb"`
		} `json:"meta"`
	}
	require.NoError(t, Unmarshal(args[2], p.Attachments, &meta))
	assert.Equal(t, a2, meta.Meta.Thumb)

	// The decoder is ready for the next packet.
	p, err = d.Add(text(`2/admin,["next"]`))
	require.NoError(t, err)
	assert.Equal(t, `["next"]`, string(p.Data))
}

func TestDecoderSequenceErrors(t *testing.T) {
	t.Run("binary without a pending packet", func(t *testing.T) {
		var d Decoder
		_, err := d.Add(transport.BinaryFrame([]byte{1}))
		require.ErrorIs(t, err, ErrInvalidPacket)
	})
	t.Run("binary after the last attachment", func(t *testing.T) {
		var d Decoder
		_, err := d.Add(text(`51-["a",{"_placeholder":true,"num":0}]`))
		require.NoError(t, err)
		p, err := d.Add(transport.BinaryFrame([]byte{1}))
		require.NoError(t, err)
		require.NotNil(t, p)
		_, err = d.Add(transport.BinaryFrame([]byte{2}))
		require.ErrorIs(t, err, ErrInvalidPacket)
	})
	t.Run("text while attachments are pending", func(t *testing.T) {
		// Reference: "got plaintext data when reconstructing a packet".
		var d Decoder
		_, err := d.Add(text(`52-["a",{"_placeholder":true,"num":0}]`))
		require.NoError(t, err)
		_, err = d.Add(transport.BinaryFrame([]byte{1}))
		require.NoError(t, err)
		_, err = d.Add(text(`2["b"]`))
		require.ErrorIs(t, err, ErrInvalidPacket)
		assert.False(t, d.Pending(), "reset after an error")
		p, err := d.Add(text(`2["c"]`))
		require.NoError(t, err)
		assert.Equal(t, `["c"]`, string(p.Data))
	})
	t.Run("placeholder out of range", func(t *testing.T) {
		for _, hdr := range []string{
			`51-["a",{"_placeholder":true,"num":1}]`,
			`51-["a",{"_placeholder":true,"num":-1}]`,
			`51-["a",{"_placeholder":true,"num":"0"}]`,
			`51-["a",{"_placeholder":true}]`,
			`51-["a",[{"x":{"_placeholder":true,"num":5}}]]`,
			`51-["a",{"\u005fplaceholder":true,"num":1}]`,
			`51-["a",{"_placeholder":true,"num":1e400}]`,
			`51-["a",{"_placeholder":true,"num":0,"num":1}]`,
		} {
			var d Decoder
			_, err := d.Add(text(hdr))
			require.NoError(t, err, hdr)
			_, err = d.Add(transport.BinaryFrame([]byte{1}))
			require.ErrorIs(t, err, ErrInvalidPacket, hdr)
			assert.False(t, d.Pending())
		}
	})
	t.Run("placeholders the reference lets through", func(t *testing.T) {
		for _, hdr := range []string{
			`51-["a",{"_placeholder":true,"num":0.5}]`,                         // undefined in JS
			`51-["a",{"_placeholder":true,"num":-0}]`,                          // -0 >= 0
			`51-["a",{"_placeholder":"true","num":9}]`,                         // not === true: plain object
			`51-["a",{"_placeholder":true,"num":0,"x":{"_placeholder":true}}]`, // inside a placeholder: not looked at
			`51-["a",{"_placeholder":true,"num":7,"num":0}]`,                   // last key wins
			`51-["a",{"__proto__":{"_placeholder":true,"num":0}}]`,             // own property in JSON.parse
			`51-["a",{"_placeholder":false,"_placeholder":true,"num":0}]`,      // last key wins
			`51-["a",{"_placeholder" : true , "num" : 0 }]`,                    // spacing
			`51-["a","{\"_placeholder\":true,\"num\":9}"]`,                     // a string
		} {
			var d Decoder
			_, err := d.Add(text(hdr))
			require.NoError(t, err, hdr)
			p, err := d.Add(transport.BinaryFrame([]byte{1}))
			require.NoError(t, err, hdr)
			require.NotNil(t, p, hdr)
		}
	})
	t.Run("not an Engine.IO message", func(t *testing.T) {
		var d Decoder
		_, err := d.Add(transport.TextFrame(`2["a"]`))
		require.ErrorIs(t, err, ErrInvalidPacket)
		_, err = d.Add(transport.TextFrame(""))
		require.ErrorIs(t, err, ErrInvalidPacket)
	})
}

func TestDecoderMaxAttachments(t *testing.T) {
	var d Decoder
	_, err := d.Add(text(`510-["a"]`))
	require.NoError(t, err)
	d.Reset()
	assert.False(t, d.Pending())
	_, err = d.Add(text(`511-["a"]`))
	require.ErrorIs(t, err, ErrTooManyAttachments)

	// socket.io-parser test: maxAttachments 2, packet announcing 3.
	d = Decoder{MaxAttachments: 2}
	_, err = d.Add(text(`53-["hello",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1},{"_placeholder":true,"num":2}]`))
	require.ErrorIs(t, err, ErrTooManyAttachments)

	d = Decoder{MaxAttachments: -1}
	_, err = d.Add(text(`51-["a"]`))
	require.ErrorIs(t, err, ErrTooManyAttachments)
	p, err := d.Add(text(`2["a"]`))
	require.NoError(t, err)
	require.NotNil(t, p)

	d = Decoder{MaxAttachments: 20}
	_, err = d.Add(text(`520-["a"]`))
	require.NoError(t, err)
	for i := 0; i < 19; i++ {
		p, err := d.Add(transport.BinaryFrame([]byte{byte(i)}))
		require.NoError(t, err)
		require.Nil(t, p)
	}
	p, err = d.Add(transport.BinaryFrame([]byte{19}))
	require.NoError(t, err)
	require.Len(t, p.Attachments, 20)
	for i, a := range p.Attachments {
		assert.Equal(t, []byte{byte(i)}, a, "in order")
	}
}

func TestDecoderReusesNamespace(t *testing.T) {
	var d Decoder
	p1, err := d.AddText([]byte(`2/chat,["a"]`))
	require.NoError(t, err)
	p2, err := d.AddText([]byte(`2/chat,["b"]`))
	require.NoError(t, err)
	assert.Equal(t, "/chat", p2.Namespace)
	assert.Equal(t, p1.Namespace, p2.Namespace)
	p3, err := d.AddText([]byte(`2/other,["c"]`))
	require.NoError(t, err)
	assert.Equal(t, "/other", p3.Namespace)

	in := []byte(`2/chat,["chat",{"a":1}]`)
	skipUnderRace(t)
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := d.AddText(in); err != nil {
			t.Fatal(err)
		}
	})
	assert.LessOrEqual(t, allocs, 1.0, "only the Packet")
}

func TestDecodeAllocations(t *testing.T) {
	in := []byte(`2["chat",{"a":1}]`)
	skipUnderRace(t)
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := Decode(in); err != nil {
			t.Fatal(err)
		}
	})
	assert.LessOrEqual(t, allocs, 1.0, "only the Packet")
}
