#!/usr/bin/env bash
# run.sh runs stacklab's benchmarks (./internal/perf and ./stack/tun in
# the main module) and the peers' (./gvisor and ./kernel in this module,
# ns-3.37's ./ns3/simrate.cc built here against Debian's libns3-dev,
# installed with apt-get when missing and running as root) and prints one
# Markdown table: work, stacklab, peer, ratio, target, command. Figures
# are medians of -count runs. `make bench` calls it; a few minutes on 2
# idle cores.
#
#   bench/run.sh            # the table on stdout, progress on stderr
#   KEEP=dir bench/run.sh   # also keep the raw `go test -bench` output in dir
#   NS3_SECONDS=10          # simulated seconds of the ns-3 runs (default 3)
#   COUNT=3 CAPCOUNT=5      # runs per figure (the capture rows: CAPCOUNT)
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
out=${KEEP:-$(mktemp -d)}
mkdir -p "$out"
[ -n "${KEEP:-}" ] || trap 'rm -rf "$out"' EXIT

count=${COUNT:-3}
# The capture figures lean on the second CPU, whose speed on this kind of
# virtual machine drops for seconds at a time: the median of more runs.
capcount=${CAPCOUNT:-5}
benchtime=${BENCHTIME:-0.5s}

note() { printf '%s\n' "$*" >&2; }

note "stacklab: go test -bench ./internal/perf (count $count) ..."
: >"$out/stacklab.txt"
(cd "$root" &&
	go test -run '^$' -bench 'CrossCPU|BulkSim|BulkPipe|BulkParallelPipe|BulkFamily|ConnSetup$|ConnSetupDataPipe|RoundTripPipe' -benchtime "$benchtime" -count "$count" ./internal/perf &&
	go test -run '^$' -bench 'CaptureOverhead' -benchtime "$benchtime" -count "$capcount" ./internal/perf &&
	go test -run '^$' -bench 'IdleMemory|TimeWaitMemory|SimRate' -benchtime 1x -count 1 ./internal/perf &&
	go test -run '^$' -bench 'RunnerCost' -benchtime 21x -count 1 ./internal/perf &&
	go test -run '^$' -bench 'TUNStackVsCeiling' -benchtime 1x -count "$count" ./stack/tun && # skips without root
	go test -run '^$' -bench 'TUNStackTCP' -benchtime 16x -count "$count" ./stack/tun
) >"$out/stacklab.txt" 2>&1 || note "stacklab benchmarks failed; see the 'not measured' cells:
$(grep -v '^Benchmark' "$out/stacklab.txt" | tail -20)"

note "peer: go test -bench ./gvisor (count $count) ..."
(cd "$here" &&
	go test -run '^$' -bench 'Bulk|BulkParallel|ConnSetupData|RoundTrip' -benchtime "$benchtime" -count "$count" ./gvisor &&
	go test -run '^$' -bench 'IdleMemory|TimeWaitMemory' -benchtime 1x -count 1 ./gvisor
) >"$out/gvisor.txt" 2>&1 || note "gVisor benchmarks failed:
$(grep -v '^Benchmark' "$out/gvisor.txt" | tail -20)"

note "peer: go test -bench ./kernel (count $count) ..."
(cd "$here" &&
	go test -run '^$' -bench 'Bulk|ConnSetup' -benchtime "$benchtime" -count "$count" ./kernel &&
	go test -run '^$' -bench 'IdleMemory|TimeWaitMemory' -benchtime 1x -count 1 ./kernel
) >"$out/peer.txt" 2>&1 || note "kernel benchmarks failed:
$(grep -v '^Benchmark' "$out/peer.txt" | tail -20)"

# ns-3.37: Debian's libns3-dev, and a small program built here.
ns3secs=${NS3_SECONDS:-3}
: >"$out/ns3.txt"
ns3mods="ns3-core ns3-network ns3-internet ns3-point-to-point ns3-applications"
if ! pkg-config --exists $ns3mods 2>/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
	note "ns-3: apt-get install libns3-dev ..."
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q libns3-dev >"$out/ns3-install.txt" 2>&1 ||
		note "ns-3: apt-get install libns3-dev failed; see $out/ns3-install.txt"
fi
if pkg-config --exists $ns3mods 2>/dev/null; then
	note "peer: ns-3.37 simrate, $ns3secs simulated s, pcap off and on ..."
	libs=$(pkg-config --libs-only-l $ns3mods | tr ' ' '\n' | grep '^-lns3' | tr '\n' ' ')
	if g++ -O2 -o "$out/ns3-simrate" "$here/ns3/simrate.cc" $(pkg-config --cflags $ns3mods) $libs >"$out/ns3-build.txt" 2>&1; then
		mkdir -p "$out/ns3pcap"
		ln -sf /dev/null "$out/ns3pcap/p-0-0.pcap"
		ln -sf /dev/null "$out/ns3pcap/p-1-0.pcap"
		{ "$out/ns3-simrate" "$ns3secs" && "$out/ns3-simrate" "$ns3secs" "$out/ns3pcap/p"; } >"$out/ns3.txt" 2>&1 ||
			note "ns-3 simrate failed: $(tail -5 "$out/ns3.txt")"
	else
		note "ns-3 simrate did not build: $(tail -5 "$out/ns3-build.txt")"
	fi
else
	note "ns-3: libns3-dev is not installed (Debian: apt-get install libns3-dev); its rows are 'not measured'"
fi

cd "$here" && go run ./cmd/benchtable -stacklab "$out/stacklab.txt" -kernel "$out/peer.txt" \
	-gvisor "$out/gvisor.txt" -ns3 "$out/ns3.txt"
