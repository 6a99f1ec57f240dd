// Package bench holds the performance tooling of the library; the package
// itself only has `go test -bench` micro-benchmarks (bench_test.go) that
// drive the hub through its public API:
//
//	go test -run '^$' -bench . -benchtime 2s ./bench/
//
// BenchmarkBroadcast reports allocs/recipient and ns/recipient for a
// broadcast to 1000 sockets. The load generator and the comparison with
// Node's socket.io are commands:
//
//	go run ./bench/run [-quick]   # both servers, side-by-side table
//	go run ./bench/server         # the Go bench server (-pprof for profiles)
//	go run ./bench/load           # scenarios against one running server
//	go run ./bench/flow           # a handler's burst and a recovery replay
//	go run ./bench/cluster        # Go pair vs Node pair on Redis: cross-node fan-out, acks
//
// See BENCHMARKS.md at the repository root for results and profiles.
package bench
