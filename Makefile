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
	bash bench/scaling.sh
	bash bench/loss.sh

# Each fuzz target for FUZZTIME, every one even after a failure, with
# minimization bounded by FUZZMINTIME so the time goes to exploring; a
# summary lists each target's result and the exit status is 1 if any
# failed. Failing inputs land in the package's testdata/fuzz. A target
# that ends with only "context deadline exceeded", writes no input and
# whose corpus then passes is not counted as failed: that is a race in
# Go's fuzz coordinator at the -fuzztime deadline (go.dev/issue/75804,
# fixed in Go 1.27), seen here on FuzzReassembler and
# FuzzFinishTCPChecksum with nothing to reproduce.
FUZZMINTIME ?= 5s
fuzz:
	@fails=0; summary=""; \
	for pkg in $$($(GO) list $(PKGS)); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "== $$pkg $$f"; \
			corpus=$$($(GO) list -f '{{.Dir}}' $$pkg)/testdata/fuzz/$$f; \
			before=$$(ls "$$corpus" 2>/dev/null | wc -l); \
			out=$$(mktemp); \
			$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINTIME) $$pkg >"$$out" 2>&1; rc=$$?; \
			cat "$$out"; \
			if [ $$rc -eq 0 ]; then \
				summary="$$summary\nok   $$pkg $$f"; \
			elif [ "$$(ls "$$corpus" 2>/dev/null | wc -l)" -eq "$$before" ] && grep -q 'context deadline exceeded' "$$out" && \
				! grep -q -e 'panic:' -e 'Failing input written' "$$out" && $(GO) test -count=1 -run "^$$f$$" $$pkg >/dev/null 2>&1; then \
				summary="$$summary\nok   $$pkg $$f (the fuzz coordinator's deadline race, go.dev/issue/75804: no input written, the corpus passes)"; \
			else \
				summary="$$summary\nFAIL $$pkg $$f"; fails=$$((fails+1)); \
			fi; \
			rm -f "$$out"; \
		done; \
	done; \
	printf "\n== fuzz summary (FUZZTIME=$(FUZZTIME))$$summary\n"; \
	if [ $$fails -gt 0 ]; then echo "$$fails target(s) failed"; exit 1; fi

# Long sweeps, not part of make test: every built-in scenario over
# SOAKSEEDS seeds (--sweep: each seed's expectations must hold), then the
# property tests over PROPSEEDS seeds. Prints one line per scenario and
# a total; exit 1 if any seed failed.
SOAKSEEDS ?= 1000
PROPSEEDS ?= 5000
soak: build
	@fails=0; for n in $$(./stacklab list | awk '/^  [a-z0-9-]+ / {print $$1}'); do \
		out=$$(./stacklab run $$n --sweep $(SOAKSEEDS) --timeout 10m 2>&1); rc=$$?; \
		bad=$$(printf '%s\n' "$$out" | grep -c '^seed .*failed'); \
		bytes=$$(printf '%s\n' "$$out" | sed -n 's/^summary: .*; \([0-9]*\) payload bytes moved$$/\1/p'); \
		echo "soak: $$n: $(SOAKSEEDS) seeds, $$bad failed, $$bytes payload bytes moved"; \
		if [ $$rc -ne 0 ]; then fails=$$((fails+1)); printf '%s\n' "$$out" | grep 'failed' | head -5; fi; \
	done; \
	$(GO) test -count=1 -timeout 60m -run 'TestProperty' ./sim/scenario -scenario.seeds $(PROPSEEDS) || fails=$$((fails+1)); \
	if [ $$fails -gt 0 ]; then echo "soak: $$fails part(s) failed"; exit 1; fi; echo "soak: all passed"

run:
	$(GO) run ./cmd/stacklab run handshake
