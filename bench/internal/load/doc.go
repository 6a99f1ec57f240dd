// Package load is the load generator of the benchmarks: lean Socket.IO v4
// clients over WebSocket (HTTP upgrade, Engine.IO open, namespace connect,
// pings answered; on Linux read through the shared poller, with no
// goroutine and no buffer per idle connection, elsewhere by a goroutine
// each, so that tens of thousands fit in one process) and the scenarios that drive them
// against a server process, measuring that process's CPU time and RSS from
// /proc.
//
// Call [Run] with a [Target] (address and pid of a server speaking the
// bench protocol: join, leave, bcast, echo, stats) and a [Config] ([Full] or
// [Quick]); it returns [Results]. [Dial] opens a single [Client].
//
// Every loop is bounded in count and time, and clients only ever connect
// to the address they are given (loopback in the bench commands).
package load
