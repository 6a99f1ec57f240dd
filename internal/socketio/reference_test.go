package socketio

import (
	"encoding/hex"
	"encoding/json"
	"math"
	"os"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-realtime/realtime/transport"
)

// refCase is one case of testdata/reference.json, produced by
// testdata/gen-reference.js from socket.io-parser 4.2.7: frames fed to the
// reference Decoder and what it did at each step.
type refCase struct {
	Frames []string  `json:"frames"`
	Steps  []refStep `json:"steps"`
}

type refStep struct {
	OK   bool    `json:"ok"`
	Done bool    `json:"done"`
	N    int     `json:"n"`
	P    *refPkt `json:"p"`
	Err  string  `json:"err"`
}

type refPkt struct {
	Type    int     `json:"type"`
	Nsp     string  `json:"nsp"`
	ID      *string `json:"id"`
	HasData bool    `json:"hasData"`
}

// TestReferenceCorpus checks that the Decoder accepts and rejects exactly
// what the reference does, frame by frame, and reads the same type,
// namespace, ack id and attachment count.
func TestReferenceCorpus(t *testing.T) {
	raw, err := os.ReadFile("testdata/reference.json")
	require.NoError(t, err)
	var cases []refCase
	require.NoError(t, json.Unmarshal(raw, &cases))
	require.Greater(t, len(cases), 1000)

	accepted, rejected := 0, 0
	for ci, c := range cases {
		var d Decoder
		for si, step := range c.Steps {
			f := c.Frames[si]
			var frame transport.Frame
			if f[0] == 't' {
				frame = transport.Frame{Data: append([]byte{'4'}, f[2:]...)}
			} else {
				b, err := hex.DecodeString(f[2:])
				require.NoError(t, err)
				frame = transport.BinaryFrame(b)
			}
			p, err := d.Add(frame)
			where := "case " + strconv.Itoa(ci) + " step " + strconv.Itoa(si) + " " + strconv.Quote(f)
			if f == "t:" {
				// Deliberate difference: the reference decoder takes "" as
				// CONNECT, but its server never passes it one.
				require.Error(t, err, where)
				break
			}
			if !step.OK {
				rejected++
				require.ErrorIs(t, err, ErrInvalidPacket, where+" (reference: %s)", step.Err)
				break
			}
			accepted++
			require.NoError(t, err, where)
			if !step.Done {
				require.Nil(t, p, where)
				require.True(t, d.Pending(), where)
				if step.P != nil { // text header of a binary packet
					hdr, err := Decode([]byte(f[2:]))
					require.NoError(t, err, where)
					assert.Len(t, hdr.Attachments, step.N, where)
					checkRefPacket(t, where, hdr, step.P)
				}
				continue
			}
			require.NotNil(t, p, where)
			require.False(t, d.Pending(), where)
			if step.P != nil {
				checkRefPacket(t, where, p, step.P)
			}
			for _, a := range p.Attachments {
				assert.NotNil(t, a, where)
			}
		}
	}
	t.Logf("%d cases, %d steps accepted, %d rejections", len(cases), accepted, rejected)
}

func checkRefPacket(t *testing.T, where string, p *Packet, want *refPkt) {
	t.Helper()
	typ := p.Type
	switch typ { // the reference reports reassembled packets as EVENT/ACK
	case BinaryEvent:
		typ = Event
	case BinaryAck:
		typ = Ack
	}
	assert.Equal(t, want.Type, int(typ), where)
	assert.Equal(t, want.Nsp, p.Namespace, where)
	assert.Equal(t, want.HasData, p.Data != nil, where)
	switch {
	case want.ID == nil:
		assert.False(t, p.HasID, where)
	case *want.ID == "NaN":
		assert.False(t, p.HasID, where)
	default:
		v, err := strconv.ParseFloat(*want.ID, 64)
		require.NoError(t, err, where)
		if p.HasID {
			assert.Equal(t, v, float64(p.ID), where) // JavaScript rounds above 2^53
		} else {
			assert.GreaterOrEqual(t, v, math.Exp2(64), where)
		}
	}
}
