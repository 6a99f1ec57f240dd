#!/usr/bin/python3
"""An independent client: python-socketio 5 (Debian's python3-socketio)
against the Go example servers, over WebSocket and over HTTP long-polling.

Run by e2e_test.go with ROOMS_URL and CHAT_URL set to running
examples/rooms and examples/chat. Prints one line per check and
"N passed, N failed" at the end; exits non-zero on any failure.
"""

import os
import queue
import sys
import traceback

import socketio

WAIT = 10  # seconds for one expected thing

# The reasons a server may give when a python-socketio client disconnects:
# Client.disconnect() queues a DISCONNECT packet, but over WebSocket
# python-engineio closes the socket without waiting for its writer, so the
# packet may never leave and the server sees the connection close.
CLIENT_CLOSE = ("client namespace disconnect", "transport close")


class Client:
    """A socketio.Client that queues every event it receives, in order."""

    def __init__(self, label, url, transport):
        self.label = label
        self.events = queue.Queue()
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("*", lambda event, *args: self.events.put((event, args)))
        self.sio.connect(url, transports=[transport], wait_timeout=WAIT)
        assert self.sio.transport() == transport, (self.label, self.sio.transport())

    def expect(self, event, skip=()):
        """Returns the args of the next event, which must be `event`;
        events named in skip are passed over."""
        while True:
            try:
                name, args = self.events.get(timeout=WAIT)
            except queue.Empty:
                raise AssertionError("%s: no %r within %ss" % (self.label, event, WAIT)) from None
            if name in skip:
                continue
            assert name == event, "%s: got %r %r, want %r" % (self.label, name, args, event)
            return args

    def nothing_pending(self, skip=()):
        """Asserts that no event (other than those in skip) has arrived."""
        left = []
        while not self.events.empty():
            name, args = self.events.get_nowait()
            if name not in skip:
                left.append((name, args))
        assert not left, "%s: unexpected events %r" % (self.label, left)

    def call(self, event, data):
        return self.sio.call(event, data, timeout=WAIT)

    def close(self):
        if self.sio.connected:
            self.sio.disconnect()


def leaving(a, b):
    """Picks which of a and b disconnects to show that the other hears of
    it: one on WebSocket, whose close the server sees at once. A polling
    client of python-engineio 4.3 sometimes never sends its DISCONNECT and
    close packets (its writer loop ends as soon as disconnect() changes
    the state: 2 sessions in 60 never POSTed them) and leaves its long-poll
    GET open; the server then learns of it only from the heartbeat, tens of
    seconds later. Returns (None, None) when neither uses WebSocket."""
    if b.sio.transport() == "websocket":
        return b, a
    if a.sio.transport() == "websocket":
        return a, b
    return None, None


def rooms(url, ta, tb):
    """a over transport ta and b over tb join a room; messages to the room
    reach everyone in it but the sender; the server's reach everyone in
    it; after leaving, b hears nothing more."""
    # A room of its own for each check: a polling client of an earlier
    # check may still be connected (see leaving).
    room = "room %s+%s" % (ta, tb)
    a = Client("a/" + ta, url, ta)
    b = Client("b/" + tb, url, tb)
    try:
        for c in (a, b):
            (greeting,) = c.expect("new message")
            assert "welcome" in greeting["mess"], greeting

        res = a.call("join", room)
        assert res == {"ok": True, "room": room, "members": 1}, res
        res = b.call("join", room)
        assert res == {"ok": True, "room": room, "members": 2}, res
        (ev,) = a.expect("room event")
        assert ev == {"event": "joined", "id": b.sio.get_sid(), "room": room, "members": 2}, ev

        # socket.broadcast.to(room): b gets it, a (the sender) does not.
        res = a.call("new messages", {"room": room, "message": "hi from python"})
        assert res["ok"] is True, res
        (m,) = b.expect("new messages")
        assert m == {"room": room, "message": "hi from python", "from": a.sio.get_sid()}, m

        # io.to(room): both get it, in order after anything sent before.
        res = b.call("greet room", room)
        assert res == {"ok": True, "room": room, "members": 2}, res
        for c in (a, b):
            (text,) = c.expect("receive message")
            assert text == "hello, users in " + room, text
        a.nothing_pending()
        b.nothing_pending()

        # A refused request is answered, not dropped.
        res = a.call("join", "not a room")
        assert res["ok"] is False and res["error"], res

        # socket.leave(room)
        res = b.call("leave", room)
        assert res == {"ok": True, "room": room, "members": 1}, res
        (ev,) = a.expect("room event")
        assert ev["event"] == "left" and ev["id"] == b.sio.get_sid() and ev["members"] == 1, ev
        a.call("new messages", {"room": room, "message": "b is gone"})
        a.call("greet room", room)
        (text,) = a.expect("receive message")
        b.call("greet room", "room nobody")  # a round trip: b's queue is flushed up to here
        b.nothing_pending()
        a.nothing_pending()

        # Disconnecting while in a room tells the room.
        b.call("join", room)
        a.expect("room event")
        leaver, stayer = leaving(a, b)
        if leaver:
            leaver_id = leaver.sio.get_sid()
            leaver.close()
            (ev,) = stayer.expect("room event")
            reason = ev.pop("reason", None)
            assert ev == {"event": "left", "id": leaver_id, "room": room, "members": 1}, ev
            assert reason in CLIENT_CLOSE, reason
    finally:
        a.close()
        b.close()


def chat(url, ta, tb):
    """The chat's events with acks: add user → login; {message, time} as
    the seed's index.html sends it; the classic demo's string messages."""
    a = Client("alice/" + ta, url, ta)
    b = Client("bob/" + tb, url, tb)
    skip = ("presence",)
    try:
        for c in (a, b):
            (greeting,) = c.expect("new message", skip)
            assert greeting["mess"].startswith("initial message"), greeting

        a.sio.emit("add user", "alice")
        (login,) = a.expect("login", skip)
        b.sio.emit("add user", "bob")
        (login_b,) = b.expect("login", skip + ("user joined",))  # alice's, maybe
        assert login_b == {"numUsers": login["numUsers"] + 1}, (login, login_b)
        (joined,) = a.expect("user joined", skip)
        assert joined == {"username": "bob", "numUsers": login_b["numUsers"]}, joined

        # The seed's page: {message, time}, here with an ack.
        res = a.call("receive message", {"message": "hello from python", "time": "2024-01-02T03:04:05.000Z"})
        assert res == {"ok": True, "username": "alice"}, res
        (m,) = b.expect("new message", skip)
        assert m == {"username": "alice", "message": "hello from python", "time": "2024-01-02T03:04:05.000Z"}, m

        # The classic demo: a string.
        b.sio.emit("new message", "hello alice")
        (m,) = a.expect("new message", skip)
        assert m == {"username": "bob", "message": "hello alice"}, m

        # Bad input is answered with an error, and the connection stays.
        res = a.call("new message", {"nomessage": 1})
        assert res["ok"] is False, res
        res = a.call("new message", "   ")
        assert res["ok"] is False, res

        leaver, stayer = leaving(a, b)
        if leaver:
            leaver.close()
            (left,) = stayer.expect("user left", skip)
            name = "bob" if leaver is b else "alice"
            assert left == {"username": name, "numUsers": login["numUsers"]}, left
            (p,) = stayer.expect("presence")
            assert p["event"] == "disconnected" and p["reason"] in CLIENT_CLOSE, p
    finally:
        a.close()
        b.close()


def main():
    rooms_url = os.environ.get("ROOMS_URL")
    chat_url = os.environ.get("CHAT_URL")
    if not rooms_url or not chat_url:
        sys.exit("ROOMS_URL and CHAT_URL must be set: run this through e2e_test.go (REALTIME_E2E=1 go test ./e2e/)")
    checks = []
    for ta, tb in (("websocket", "websocket"), ("polling", "polling"), ("websocket", "polling")):
        checks.append(("rooms, %s + %s" % (ta, tb), lambda ta=ta, tb=tb: rooms(rooms_url, ta, tb)))
        checks.append(("chat, %s + %s" % (ta, tb), lambda ta=ta, tb=tb: chat(chat_url, ta, tb)))
    passed = failed = 0
    for name, fn in checks:
        try:
            fn()
        except Exception:
            failed += 1
            print("FAIL", name)
            traceback.print_exc()
        else:
            passed += 1
            print("ok  ", name)
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
