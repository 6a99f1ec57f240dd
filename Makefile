# The project's commands. `make test` is the one test command for a fresh
# machine (Go 1.26, Node.js 20+ with npm): it installs the pinned npm packages
# the interop tests need, vets, runs every test with the race detector
# (interop included), then fuzzes every Fuzz target briefly.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := test
# The steps of `test` run in order, never in parallel (the interop test is timing-sensitive).
.NOTPARALLEL:

GO       ?= go
NPM      ?= npm
FUZZTIME ?= 500x
# The newest Go release, besides the go.mod's (the oldest supported): the go
# command fetches this toolchain from the module proxy.
GO_NEWEST ?= go1.27.4

# Written after a successful `npm ci`; older than the lock file → reinstall.
INTEROP_STAMP := interop/node_modules/.make-installed


.PHONY: heavy e2e e2e-deps cluster cluster-deps
.PHONY: test vet unit unit-newest interop interop-deps check-node fuzz demo

test: interop-deps e2e-deps cluster-deps vet unit unit-newest heavy interop e2e cluster fuzz

vet:
	$(GO) vet ./...
	@unformatted=$$($$($(GO) env GOROOT)/bin/gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt -w needed:"; echo "$$unformatted"; exit 1; fi

# Unit tests of every package except interop (timing-sensitive: it runs
# alone next, so it does not compete for the CPU with other test binaries).
unit:
	$(GO) test -race -count=1 $$($(GO) list ./... | grep -v -e '/interop$$' -e '/e2e$$')

# The same unit tests on the newest Go release (go.mod keeps the oldest
# supported one, so users on either build the module).
unit-newest:
	GOTOOLCHAIN=$(GO_NEWEST) $(GO) version
	GOTOOLCHAIN=$(GO_NEWEST) $(GO) test -race -count=1 $$($(GO) list ./... | grep -v -e '/interop$$' -e '/e2e$$')

# Tests that run at full size only without the race detector (with it they
# scale themselves down or skip in `unit`): 1,000 receivers × 10,000
# broadcasts with one stalled client; allocation counts.
heavy:
	$(GO) test -count=1 -run '^TestStalledClient$$' -v ./hub/ | grep -E '^(---|ok|FAIL|PASS)|receivers'
	$(GO) test -count=1 -run 'Allocat|Allocs|DoesNotAllocate|ReusesNamespace' ./internal/socketio/ ./namespace/ ./transport/websocket/

# The official Engine.IO/Socket.IO clients and raw-protocol checks against
# internal/cmd/conformance (see interop/doc.go); its socket.io-client 2.x
# browser suite needs Chromium, which e2e-deps installs.
interop: interop-deps e2e-deps
	REALTIME_INTEROP=1 $(GO) test -race -count=1 ./interop/

interop-deps: check-node $(INTEROP_STAMP)

check-node:
	@command -v node >/dev/null 2>&1 || { echo "make: 'node' not found: the interop tests need Node.js 20+ with npm (e.g. apt-get install nodejs npm)" >&2; exit 1; }
	@command -v $(NPM) >/dev/null 2>&1 || { echo "make: '$(NPM)' not found: the interop tests need npm to install interop/node_modules" >&2; exit 1; }
	@node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' || { echo "make: Node.js 20+ required, found $$(node --version)" >&2; exit 1; }

$(INTEROP_STAMP): interop/package-lock.json interop/package.json
	PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 $(NPM) ci --prefix interop --no-audit --no-fund
	@touch $@

# Runs every FuzzXxx target in the module for FUZZTIME each, one at a time;
# fails at the end if any target failed.
fuzz:
	@found=0; failed=""; \
	while read -r dir file; do \
	  for name in $$(sed -nE 's/^func (Fuzz[A-Za-z0-9_]*)\(.*/\1/p' "$$dir/$$file"); do \
	    found=$$((found+1)); pkg="$${dir#$(CURDIR)/}"; \
	    echo "== fuzz $$name in ./$$pkg ($(FUZZTIME))"; \
	    $(GO) test -run='^$$' -fuzz="^$$name\$$" -fuzztime=$(FUZZTIME) "$$dir" || failed="$$failed ./$$pkg:$$name"; \
	  done; \
	done < <($(GO) list -f '{{$$d := .Dir}}{{range .TestGoFiles}}{{$$d}} {{.}}{{"\n"}}{{end}}{{range .XTestGoFiles}}{{$$d}} {{.}}{{"\n"}}{{end}}' ./...); \
	echo "== fuzzed $$found target(s)"; \
	if [ -n "$$failed" ]; then echo "make: fuzz targets failed:$$failed" >&2; exit 1; fi

# The examples in headless Chromium (playwright-core), the seed's React
# component on socket.io-client, and python-socketio (see e2e/). Installs
# Debian's chromium and python3-socketio when missing (needs root, as CI is).
e2e-deps: check-node
	@test -x /usr/bin/chromium && /usr/bin/python3 -c 'import socketio, websocket, requests' 2>/dev/null || \
	  { echo "== installing chromium and python3-socketio (apt-get)"; \
	    if [ "$$(id -u)" != 0 ]; then echo "make: need root to apt-get install chromium python3-socketio python3-websocket python3-requests" >&2; exit 1; fi; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium python3-socketio python3-websocket python3-requests fonts-dejavu-core >/dev/null; }
	@test -f examples/node_modules/socket.io-client/dist/socket.io.min.js || $(NPM) ci --prefix examples --no-audit --no-fund
	@test -d e2e/node_modules/playwright-core -a -f e2e/node_modules/@socket.io/admin-ui/ui/dist/index.html || PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 $(NPM) ci --prefix e2e --no-audit --no-fund

e2e: e2e-deps
	REALTIME_E2E=1 $(GO) test -race -count=1 ./e2e/

# The Redis cluster adapters against a real redis-server (installed from
# Debian when missing), including mixed clusters with Node's socket.io and
# @socket.io/redis-adapter or @socket.io/redis-streams-adapter, connection
# state recovery across nodes (cluster-test/), and the sharded adapter on a
# Redis Cluster of three redis-server processes the tests start (Redis 7).
CLUSTER_STAMP := cluster-test/node_modules/.make-installed

cluster-deps: check-node $(CLUSTER_STAMP)
	@command -v redis-server >/dev/null 2>&1 || { \
	  echo "== installing redis-server (apt-get)"; \
	  if [ "$$(id -u)" != 0 ]; then echo "make: need root to apt-get install redis-server" >&2; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }

$(CLUSTER_STAMP): cluster-test/package-lock.json cluster-test/package.json
	$(NPM) ci --prefix cluster-test --no-audit --no-fund
	@touch $@

cluster: cluster-deps
	REALTIME_REDIS=1 $(GO) test -race -count=1 ./room/redis/

# The main demo: the seed's chat app at http://127.0.0.1:8080/.
demo: check-node
	@test -f examples/node_modules/socket.io-client/dist/socket.io.min.js || $(NPM) ci --prefix examples --no-audit --no-fund
	$(GO) run ./examples/chat -addr 127.0.0.1:8080
