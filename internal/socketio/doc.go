// Package socketio is the Socket.IO v5 packet codec: it turns the text and
// binary Engine.IO messages of a connection into [Packet] values and back.
//
// Start with a [Decoder] per connection: feed it every Engine.IO message frame
// with [Decoder.Add] and act on each complete [Packet] it returns (binary
// packets are held until all their attachments have arrived). To send, build a
// [Packet] and call [EncodeFrames], or [AppendPacket] into a buffer of your own
// (prefixed with the Engine.IO message type '4'). [MarshalArgs] turns Go
// values into an event's JSON array, moving []byte values into attachments;
// [SplitArgs], [ResolveBinary] and [Unmarshal] take received arguments apart.
//
// Wire format (inside an Engine.IO message, so the frame is '4' + this):
//
//	<type>[<attachments>-][<namespace>,][<ack id>][<JSON payload>]
//
// The decoder accepts and rejects exactly what the reference parser
// (socket.io-parser 4.2.7) accepts and rejects, quirks included (an ack id may
// hold JavaScript white space, "5 1-" counts one attachment, a packet with no
// payload is always valid), with three deliberate differences, all rejections
// of input the reference would take: text that is not valid UTF-8, JSON nested
// deeper than [Decoder.MaxDepth], and the empty string (the reference server
// never reaches its parser with one: Engine.IO gives it undefined and fails).
//
// Payload JSON is validated but kept as the raw bytes received (Packet.Data
// aliases the decoded text): arguments echoed back are byte-identical.
package socketio
