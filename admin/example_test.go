package admin_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/go-realtime/realtime/admin"
	"github.com/go-realtime/realtime/hub"
	"github.com/go-realtime/realtime/hub/hubtest"
	"github.com/go-realtime/realtime/namespace"
)

// An instrumented hub, and a client logging in to its admin namespace as
// the Admin UI does: it is told its session id and what the server
// supports.
func ExampleInstrument() {
	h := hub.New(nil)
	ins, err := admin.Instrument(h, admin.Options{
		// A bcrypt hash of "secret" (cost 4 for the example; use 10 or more).
		Auth:     admin.BasicAuth{Username: "admin", PasswordHash: "$2a$04$Do1iVjYCuy0ksMHuGHm82ucerSAclMJhmk4fJAgpDZxJAQOMFd0Zq"},
		ReadOnly: true,
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer ins.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _ := hubtest.Dial(ctx, h, nil)
	defer conn.Close()
	_, err = conn.Connect(ctx, "/admin", map[string]string{"username": "admin", "password": "wrong"})
	var refused *namespace.ConnectError
	if errors.As(err, &refused) {
		fmt.Println("refused:", refused.Message) // what the UI shows
	}
	ui, err := conn.Connect(ctx, "/admin", map[string]string{"username": "admin", "password": "secret"})
	if err != nil {
		fmt.Println(err)
		return
	}
	session, _ := ui.Expect(ctx, "session")
	fmt.Println("session id:", len(session.Args.Raw(0))-2, "hex digits")
	config, _ := ui.Expect(ctx, "config")
	fmt.Println("config:", string(config.Args.Raw(0)))
	// Output:
	// refused: invalid credentials
	// session id: 32 hex digits
	// config: {"supportedFeatures":["AGGREGATED_EVENTS","ALL_EVENTS"]}
}
