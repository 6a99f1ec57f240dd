package socketio

import (
	"github.com/go-realtime/realtime/transport"
)

// Decoder turns the Engine.IO messages of one connection into packets,
// reassembling binary packets from their text header and the binary
// messages that follow it. It follows the reference: a binary message when no
// binary packet is waiting for attachments is an error, and so is a text
// message while one is.
//
// The zero Decoder is ready to use. A Decoder is not safe for concurrent use;
// it costs a few words of memory plus the packet being reassembled.
type Decoder struct {
	// MaxAttachments is the most attachments a binary packet may announce.
	// Zero means DefaultMaxAttachments (10, the reference's default); a
	// negative value refuses binary packets; values above 65536 count as
	// 65536.
	MaxAttachments int
	// MaxDepth is the deepest nesting of arrays and objects accepted in a
	// payload. Zero means DefaultMaxDepth (32); a negative value means no
	// limit of our own (encoding/json still refuses more than 10000).
	MaxDepth int

	pending *Packet // binary packet waiting for attachments
	got     int     // attachments received for pending
	nsp     string  // last namespace decoded, reused to spare an allocation
}

func (d *Decoder) limits() (maxAtt, maxDepth int) {
	maxAtt, maxDepth = d.MaxAttachments, d.MaxDepth
	switch {
	case maxAtt == 0:
		maxAtt = DefaultMaxAttachments
	case maxAtt < 0:
		maxAtt = 0
	case maxAtt > maxAttachmentsCap:
		maxAtt = maxAttachmentsCap
	}
	if maxDepth == 0 {
		maxDepth = DefaultMaxDepth
	}
	return maxAtt, maxDepth
}

// Add takes one Engine.IO message frame as a transport delivers it: a text
// frame holds the Engine.IO type '4' followed by a Socket.IO packet, a binary
// frame holds one attachment. It returns the packet the frame completes, or
// nil while a binary packet still waits for attachments. Binary frames are
// kept as the packet's Attachments without copying.
//
// On error the Decoder drops any partial packet and is ready for a new one;
// the caller should close the connection, as the reference server does.
func (d *Decoder) Add(f transport.Frame) (*Packet, error) {
	if f.Binary {
		return d.AddBinary(f.Data)
	}
	if len(f.Data) == 0 || f.Data[0] != '4' {
		d.Reset()
		return nil, invalid("text frame is not an Engine.IO message")
	}
	return d.AddText(f.Data[1:])
}

// AddText is Add for the text of a message whose Engine.IO type '4' was
// already stripped: text is a Socket.IO packet.
func (d *Decoder) AddText(text []byte) (*Packet, error) {
	return d.AddTextTo(text, new(Packet))
}

// AddTextTo is AddText decoding into p, which the caller provides (it may
// live on the caller's stack): the result is p for a packet without
// attachments, nil while a binary packet waits for its attachments (the
// Decoder then keeps a copy of it, never p), or an error.
func (d *Decoder) AddTextTo(text []byte, p *Packet) (*Packet, error) {
	if d.pending != nil {
		d.Reset()
		return nil, invalid("text message while a binary packet waits for attachments")
	}
	maxAtt, maxDepth := d.limits()
	if err := decode(p, text, maxAtt, maxDepth, &d.nsp); err != nil {
		return nil, err
	}
	if len(p.Attachments) > 0 {
		pending := *p
		d.pending, d.got = &pending, 0
		return nil, nil
	}
	return p, nil
}

var noBytes = []byte{}

// AddBinary is Add for a binary message: one attachment.
func (d *Decoder) AddBinary(data []byte) (*Packet, error) {
	p := d.pending
	if p == nil {
		return nil, invalid("binary message while no binary packet waits for attachments")
	}
	if data == nil {
		data = noBytes // nil slots are the ones still to come
	}
	p.Attachments[d.got] = data
	d.got++
	if d.got < len(p.Attachments) {
		return nil, nil
	}
	d.Reset()
	if err := checkPlaceholders(p.Data, len(p.Attachments)); err != nil {
		return nil, err
	}
	return p, nil
}

// Pending reports whether a binary packet is waiting for attachments.
func (d *Decoder) Pending() bool { return d.pending != nil }

// Reset drops a binary packet waiting for attachments, if any.
func (d *Decoder) Reset() {
	d.pending, d.got = nil, 0
}
