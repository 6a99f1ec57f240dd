package namespace_test

import (
	"github.com/go-realtime/realtime/internal/wiring"
	"github.com/go-realtime/realtime/namespace"
)

// The tests make namespaces and clients as the hub does.
var nsImpl = wiring.Get[*namespace.Namespace, namespace.Handshake, namespace.Args, *namespace.Recovery]()

type nsConfig = wiring.Config[*namespace.Recovery]

func newNS(name string, cfg *nsConfig) *namespace.Namespace { return nsImpl.NewNamespace(name, cfg) }
