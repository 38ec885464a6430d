#!/usr/bin/env bash
# loss.sh prints the loss-recovery table (issue 8): 16 MiB client →
# server over 100 Mbit/s, 50 ms RTT, 1000-frame queues, 1 % and 3 %
# random loss both ways and 5 % of frames reordered (held 1 ms).
# stacklab runs in simulated time under each profile
# (./internal/perf BenchmarkLossRecovery); gVisor's netstack, the peer,
# runs the same transfer in real time over an in-memory link with the
# same impairments (./gvisor BenchmarkLossRecovery, this module, CUBIC
# and SACK on). `make bench` calls it; about three minutes (gVisor's
# transfers take their real time).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "loss: stacklab (simulated time) ..." >&2
(cd "$root" && go test -run '^$' -bench LossRecovery -benchtime 1x ./internal/perf) >"$out/stacklab.txt" 2>&1 ||
	echo "loss: stacklab benchmark failed: $(tail -5 "$out/stacklab.txt")" >&2
echo "loss: gVisor netstack (real time) ..." >&2
(cd "$here" && go test -run '^$' -bench LossRecovery -benchtime 1x -timeout 15m ./gvisor) >"$out/gvisor.txt" 2>&1 ||
	echo "loss: gVisor benchmark failed: $(tail -5 "$out/gvisor.txt")" >&2

# row FILE PATTERN LABEL: one Markdown row from a benchmark line's
# metrics (MB/s, retrans, rtos, spurious).
row() {
	awk -v pat="$2" -v label="$3" '
		$1 ~ pat {
			for (i = 2; i < NF; i++) m[$(i+1)] = $i
			printf "| %s | %s | %s | %s | %s |\n", label, m["MB/s"], m["retrans"], m["rtos"], m["spurious"]
			found = 1
		}
		END { if (!found) printf "| %s | not measured | | | |\n", label }' "$1"
}

echo "| path: 100 Mbit/s, 50 ms RTT, 16 MiB | goodput MB/s | retransmitted segments | RTOs | spurious (D-SACK / undone) |"
echo "|---|---|---|---|---|"
for loss in 1 3; do
	row "$out/stacklab.txt" "LossRecovery/loss=${loss}%/profile=linux" "${loss} % loss + 5 % reordering: stacklab, linux profile (RACK-TLP, PRR, CUBIC)"
	row "$out/stacklab.txt" "LossRecovery/loss=${loss}%/profile=rfc" "${loss} % loss + 5 % reordering: stacklab, rfc profile (RACK-TLP, PRR, NewReno)"
	row "$out/gvisor.txt" "LossRecovery/loss=${loss}%" "${loss} % loss + 5 % reordering: gVisor netstack (RACK, CUBIC), same run"
done
