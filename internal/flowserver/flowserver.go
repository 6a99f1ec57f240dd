// Package flowserver is the Socket.IO application that the flow-control
// checks run against: the interop suite's /flow/ server
// (internal/cmd/conformance) and the burst and replay measurements
// (bench/flow). Call [New] and mount the hub on its path.
//
// Events on the main namespace:
//
//	burst(n, size, ack)                 emits burst-item(i, data) for i in 0..n-1 to the
//	                                    sender (data: size bytes), then acks n
//	join(room, ack)                     joins room, acks "ok"
//	observe(ack)                        joins room "observers", acks "ok"
//	prime(room)                         broadcasts item(-1, "") to room
//	fill-after-close(room, n, size, ack) acks "ok"; once the sender has disconnected,
//	                                    broadcasts item(i, data) to room for i in 0..n-1,
//	                                    then filled(room, n) to "observers"
//	mark(ack)                           starts measuring the process's peak memory;
//	                                    acks {heap, rss}: what is in use now, after a GC
//	peak(ack)                           acks {heap, rss}: the peaks since mark
//
// Memory is measured in the server's process: heap is the Go heap's
// objects (live or not yet swept), sampled every millisecond; rss is the
// resident set size's high-water mark (Linux: VmHWM, reset by mark; 0
// elsewhere).
package flowserver

import (
	"bufio"
	"bytes"
	"context"
	"log/slog"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-realtime/realtime/hub"
	"github.com/go-realtime/realtime/namespace"
)

// Bounds of what a client may ask for.
const (
	MaxEvents = 100_000
	MaxSize   = 1 << 20
)

// Memory is the answer to mark and peak, in bytes.
type Memory struct {
	Heap uint64 `json:"heap"`
	RSS  uint64 `json:"rss"`
}

// New returns the hub, answering on path: connection state recovery with a
// one-minute window, the default heartbeat and queue bound (a burst or a
// replay may outlast a short test heartbeat), any origin allowed.
func New(path string, logger *slog.Logger) *hub.Server {
	h := hub.New(&hub.Options{
		Path:                    path,
		AllowedOrigins:          []string{"*"},
		ConnectionStateRecovery: &namespace.Recovery{MaxDisconnectionDuration: time.Minute, SkipMiddlewares: true},
		Logger:                  logger,
	})
	valid := func(n, size int) bool { return n >= 0 && n <= MaxEvents && size >= 0 && size <= MaxSize }
	var m meter
	// reply answers e's ack, when the client asked for one.
	reply := func(e *namespace.Event, args ...any) {
		if e.Ack != nil {
			_ = e.Ack(args...)
		}
	}
	h.OnConnection(func(s *namespace.Socket) {
		s.On("burst", func(e *namespace.Event) {
			var n, size int
			if e.Args.Scan(&n, &size) != nil || !valid(n, size) {
				return
			}
			data := strings.Repeat("b", size)
			for i := 0; i < n; i++ {
				if s.Emit("burst-item", i, data) != nil {
					return
				}
			}
			reply(e, n)
		})
		namespace.HandleAck(s, "join", func(_ context.Context, room string) (string, error) { s.Join(room); return "ok", nil })
		s.On("observe", func(e *namespace.Event) { s.Join("observers"); reply(e, "ok") })
		namespace.Handle(s, "prime", func(_ context.Context, room string) error { return h.To(room).Emit("item", -1, "") })
		s.On("fill-after-close", func(e *namespace.Event) {
			var room string
			var n, size int
			if e.Args.Scan(&room, &n, &size) != nil || !valid(n, size) {
				return
			}
			done := s.Done()
			go func() {
				<-done
				data := strings.Repeat("r", size)
				for i := 0; i < n; i++ {
					_ = h.To(room).Emit("item", i, data)
				}
				_ = h.To("observers").Emit("filled", room, n)
			}()
			reply(e, "ok")
		})
		s.On("mark", func(e *namespace.Event) { reply(e, m.mark()) })
		s.On("peak", func(e *namespace.Event) { reply(e, m.peak()) })
	})
	return h
}

// meter samples the heap between mark and peak.
type meter struct {
	op       sync.Mutex // one mark or peak at a time
	mu       sync.Mutex
	stop     chan struct{} // closes the running sampler; nil when none runs
	done     chan struct{} // closed when it has returned
	peakHeap uint64
}

// maxSampling stops a sampler nobody asked the peak of.
const maxSampling = 5 * time.Minute

func (m *meter) mark() Memory {
	m.op.Lock()
	defer m.op.Unlock()
	m.stopSampler()
	runtime.GC()
	now := Memory{Heap: heapObjects(), RSS: statusKB("VmRSS:")}
	// Writing 5 to clear_refs resets VmHWM to the current RSS (Linux 4.0+).
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
	m.mu.Lock()
	m.peakHeap = now.Heap
	m.stop, m.done = make(chan struct{}), make(chan struct{})
	stop, done := m.stop, m.done
	m.mu.Unlock()
	go m.sample(stop, done)
	return now
}

func (m *meter) sample(stop, done chan struct{}) {
	defer close(done)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	limit := time.After(maxSampling)
	for {
		heap := heapObjects()
		m.mu.Lock()
		m.peakHeap = max(m.peakHeap, heap)
		m.mu.Unlock()
		select {
		case <-stop:
			return
		case <-limit:
			return
		case <-tick.C:
		}
	}
}

func (m *meter) stopSampler() {
	m.mu.Lock()
	stop, done := m.stop, m.done
	m.stop, m.done = nil, nil
	m.mu.Unlock()
	if stop != nil {
		close(stop)
		<-done
	}
}

func (m *meter) peak() Memory {
	m.op.Lock()
	defer m.op.Unlock()
	m.stopSampler()
	m.mu.Lock()
	defer m.mu.Unlock()
	return Memory{Heap: max(m.peakHeap, heapObjects()), RSS: statusKB("VmHWM:")}
}

// heapObjects is the memory of the heap's objects, live or not yet swept.
func heapObjects() uint64 {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	return sample[0].Value.Uint64()
}

// statusKB returns a "kB" field of /proc/self/status in bytes, or 0.
func statusKB(key string) uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), key); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0
			}
			return n << 10
		}
	}
	return 0
}
