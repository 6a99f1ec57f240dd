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

# Written after a successful `npm ci`; older than the lock file → reinstall.
INTEROP_STAMP := interop/node_modules/.make-installed


.PHONY: heavy
.PHONY: test vet unit interop interop-deps check-node fuzz demo

test: interop-deps vet unit heavy interop fuzz

vet:
	$(GO) vet ./...

# Unit tests of every package except interop (timing-sensitive: it runs
# alone next, so it does not compete for the CPU with other test binaries).
unit:
	$(GO) test -race -count=1 $$($(GO) list ./... | grep -v '/interop$$')

# Tests that run at full size only without the race detector (with it they
# scale themselves down and run in `unit`): 1,000 receivers × 10,000
# broadcasts with one stalled client.
heavy:
	$(GO) test -count=1 -run '^TestStalledClient$$' -v ./hub/ | grep -E '^(---|ok|FAIL|PASS)|receivers'

# The official Engine.IO/Socket.IO clients and raw-protocol checks against
# internal/cmd/conformance (see interop/doc.go).
interop: interop-deps
	REALTIME_INTEROP=1 $(GO) test -race -count=1 ./interop/

interop-deps: check-node $(INTEROP_STAMP)

check-node:
	@command -v node >/dev/null 2>&1 || { echo "make: 'node' not found: the interop tests need Node.js 20+ with npm (e.g. apt-get install nodejs npm)" >&2; exit 1; }
	@command -v $(NPM) >/dev/null 2>&1 || { echo "make: '$(NPM)' not found: the interop tests need npm to install interop/node_modules" >&2; exit 1; }
	@node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' || { echo "make: Node.js 20+ required, found $$(node --version)" >&2; exit 1; }

$(INTEROP_STAMP): interop/package-lock.json interop/package.json
	$(NPM) ci --prefix interop --no-audit --no-fund
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

demo:
	$(GO) run ./examples/chat -addr 127.0.0.1:8080
