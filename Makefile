# stacklab — build, test, benchmark, fuzz.
GO ?= go
PKGS := ./...
FUZZTIME ?= 20s

.PHONY: build test vet bench fuzz soak run

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

# Each fuzz target for FUZZTIME, every one even after a failure, with
# minimization bounded by FUZZMINTIME so the time goes to exploring; a
# summary lists each target's result and the exit status is 1 if any
# failed. Failing inputs land in the package's testdata/fuzz.
FUZZMINTIME ?= 5s
fuzz:
	@fails=0; summary=""; \
	for pkg in $$($(GO) list $(PKGS)); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "== $$pkg $$f"; \
			if $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINTIME) $$pkg; then \
				summary="$$summary\nok   $$pkg $$f"; \
			else \
				summary="$$summary\nFAIL $$pkg $$f"; fails=$$((fails+1)); \
			fi; \
		done; \
	done; \
	printf "\n== fuzz summary (FUZZTIME=$(FUZZTIME))$$summary\n"; \
	if [ $$fails -gt 0 ]; then echo "$$fails target(s) failed"; exit 1; fi

run:
	$(GO) run ./cmd/stacklab run handshake
