# stacklab — build, test, benchmark, fuzz.
GO ?= go
PKGS := ./...
FUZZTIME ?= 20s

.PHONY: build test vet bench fuzz run

build:
	$(GO) build -o stacklab ./cmd/stacklab

vet:
	@fmt=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$fmt" ]; then echo "gofmt needed:"; echo "$$fmt"; exit 1; fi
	$(GO) vet $(PKGS)

# Unit tests, every built-in scenario with its expectations, determinism,
# nettest.TestConn, tshark lint of captures (when tshark is installed), and
# the TUN tests against the kernel (when run as root), all under the race
# detector.
test: vet
	$(GO) test -race -count=1 -timeout 20m $(PKGS)

# Benchmarks: bulk TCP, connection setup, capture overhead, simulation
# rate, TUN; see README's performance table.
bench:
	bash bench/run.sh

# Each fuzz target for FUZZTIME.
fuzz:
	@for pkg in $$($(GO) list $(PKGS)); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
		done; \
	done

run:
	$(GO) run ./cmd/stacklab run handshake
