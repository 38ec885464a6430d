#!/usr/bin/env bash
# run.sh runs stacklab's benchmarks (./internal/perf in the main module)
# and the peer's (./kernel in this module) and prints one Markdown table:
# work, stacklab, peer, ratio, command. Figures are medians of -count runs.
# `make bench` calls it; about 1–2 minutes on 2 cores.
#
#   bench/run.sh            # the table on stdout, progress on stderr
#   KEEP=dir bench/run.sh   # also keep the raw `go test -bench` output in dir
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
out=${KEEP:-$(mktemp -d)}
mkdir -p "$out"
[ -n "${KEEP:-}" ] || trap 'rm -rf "$out"' EXIT

count=${COUNT:-3}
benchtime=${BENCHTIME:-0.5s}

note() { printf '%s\n' "$*" >&2; }

note "stacklab: go test -bench ./internal/perf (count $count) ..."
: >"$out/stacklab.txt"
(cd "$root" &&
	go test -run '^$' -bench 'BulkSim|BulkPipe|CaptureOverhead|ConnSetup$' -benchtime "$benchtime" -count "$count" ./internal/perf &&
	go test -run '^$' -bench 'IdleMemory|SimRate' -benchtime 1x -count 1 ./internal/perf &&
	go test -run '^$' -bench 'TUNStackVsCeiling|TUNStackTCP' -benchtime 1x -count "$count" ./stack/tun # skips without root
) >"$out/stacklab.txt" 2>&1 || note "stacklab benchmarks failed; see the 'not measured' cells:
$(grep -v '^Benchmark' "$out/stacklab.txt" | tail -20)"

note "peer: go test -bench ./kernel (count $count) ..."
(cd "$here" &&
	go test -run '^$' -bench 'Bulk|ConnSetup' -benchtime "$benchtime" -count "$count" ./kernel &&
	go test -run '^$' -bench 'IdleMemory' -benchtime 1x -count 1 ./kernel
) >"$out/peer.txt" 2>&1 || note "peer benchmarks failed:
$(grep -v '^Benchmark' "$out/peer.txt" | tail -20)"

cd "$here" && go run ./cmd/benchtable -stacklab "$out/stacklab.txt" -peer "$out/peer.txt"
