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
#
# As root it adds the Linux kernel as a peer, in real time, over 2 %
# random loss, 5 % reordering (held 1 ms) and 1 % duplication both ways,
# 25 ms each way, 100 Mbit/s (the impairments issue 8 names): kernel →
# kernel through two network namespaces joined by two TUN devices and
# stacklab's impairment pipes (./internal/lossrelay; this kernel has no
# netem), and stacklab over TUN (`stacklab tun`, the same impairments
# between the device and the stack) against the kernel in a namespace,
# both directions (HTTP download with curl, upload with socat; kernel
# senders use CUBIC per socket, TCP_CONGESTION). Kernel figures
# come from nstat in the sender's fresh namespace (TcpRetransSegs,
# TcpExtTCPTimeouts, TcpExtTCPDSACKRecvSegs, the undo counters),
# stacklab's from its counters at exit. The script creates and deletes
# its namespaces; without root, ip, curl, socat or nstat it prints
# "skipped" rows. About five more minutes (each transfer is real time).
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

# ---- the Linux kernel as a peer (root only) ----
size=16777216 a="slkloss-a-$$" b="slkloss-b-$$" s="slkloss-s-$$" pids=()
kernel_skip() {
	echo "| 2 % loss, 5 % reordering, 1 % dup: $1 | skipped: $2 | | | |"
}
kernel_rows() {
	local why=""
	[ "$(id -u)" = 0 ] || why="needs root"
	for tool in ip curl socat nstat; do
		command -v "$tool" >/dev/null || why="${why:-no $tool}"
	done
	if [ -n "$why" ]; then
		kernel_skip "kernel → kernel" "$why"
		kernel_skip "stacklab → kernel over TUN" "$why"
		kernel_skip "kernel → stacklab over TUN" "$why"
		return
	fi
	(cd "$root" && go build -o "$out/stacklab" ./cmd/stacklab && go build -o "$out/lossrelay" ./internal/lossrelay) || {
		kernel_skip "kernel rows" "build failed"
		return
	}
	local imp=(-loss 2% -reorder 5% -dup 1% -delay 25ms -rate 100Mbit)
	local timp=(--loss 2% --reorder 5% --dup 1% --delay 25ms --rate 100Mbit)
	head -c "$size" /dev/zero >"$out/data"
	cleanup_ns() {
		local p
		for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
		pids=()
		for ns in "$a" "$b" "$s"; do ip netns del "$ns" 2>/dev/null; done
	}
	trap 'cleanup_ns; rm -rf "$out"' EXIT
	# The kernel senders use CUBIC, as stacklab's linux profile and
	# gVisor do, per socket (TCP_CONGESTION, 6:13): a machine's default
	# may be another (bbr here), which a new namespace inherits and may
	# not change (EPERM outside the initial namespace).
	local cubic=setsockopt-string=6:13:cubic
	# nst NS: "retrans rtos dsack undone" of NS's kernel.
	nst() {
		ip netns exec "$1" nstat -asz TcpRetransSegs TcpExtTCPTimeouts TcpExtTCPDSACKRecvSegs \
			TcpExtTCPDSACKUndo TcpExtTCPFullUndo TcpExtTCPLossUndo TcpExtTCPPartialUndo |
			awk '{m[$1] = $2} END { printf "%d %d %d %d", m["TcpRetransSegs"], m["TcpExtTCPTimeouts"], m["TcpExtTCPDSACKRecvSegs"], m["TcpExtTCPDSACKUndo"] + m["TcpExtTCPFullUndo"] + m["TcpExtTCPLossUndo"] + m["TcpExtTCPPartialUndo"] }'
	}
	# krow LABEL SECONDS "retrans rtos dsack undone"
	krow() {
		local r
		read -r -a r <<<"$3"
		awk -v l="$1" -v t="$2" -v n="$size" -v rt="${r[0]}" -v ro="${r[1]}" -v d="${r[2]}" -v u="${r[3]}" \
			'BEGIN { if (t > 0) printf "| %s | %.2f | %s | %s | %s / %s |\n", l, n / t / 1e6, rt, ro, d, u; else printf "| %s | failed | | | |\n", l }'
	}

	echo "loss: kernel → kernel over lossrelay (real time) ..." >&2
	ip netns add "$a" && ip netns add "$b" && ip -n "$a" link set lo up && ip -n "$b" link set lo up
	"$out/lossrelay" -a "$a" -b "$b" "${imp[@]}" 2>"$out/relay.txt" &
	pids+=($!)
	sleep 1
	ip netns exec "$b" sh -c "socat -u TCP-LISTEN:5001,reuseaddr - | wc -c >'$out/k.bytes'; date +%s.%N >'$out/k.end'" &
	pids+=($!)
	sleep 0.5
	local start end secs=0
	start=$(date +%s.%N)
	timeout 300 ip netns exec "$a" socat -u "OPEN:$out/data" "TCP:10.98.0.2:5001,$cubic"
	for _ in $(seq 600); do [ -s "$out/k.end" ] && break; sleep 0.5; done
	if [ -s "$out/k.end" ] && [ "$(cat "$out/k.bytes")" = "$size" ]; then
		end=$(cat "$out/k.end")
		secs=$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')
	fi
	krow "2 % loss, 5 % reordering, 1 % dup: kernel → kernel (Linux $(uname -r), CUBIC, RACK)" "$secs" "$(nst "$a")"
	cleanup_ns

	# tunrow DIRECTION: stacklab over TUN with the kernel in $s.
	for dir in stacklab-to-kernel kernel-to-stacklab; do
		echo "loss: $dir over TUN (real time) ..." >&2
		ip netns add "$s" && ip -n "$s" link set lo up
		"$out/stacklab" tun --netns "$s" --serve http --cc cubic "${timp[@]}" --seed 1 2>"$out/st.txt" &
		pids+=($!)
		for _ in $(seq 50); do grep -q "http server" "$out/st.txt" 2>/dev/null && break; sleep 0.2; done
		local res
		if [ "$dir" = stacklab-to-kernel ]; then
			res=$(ip netns exec "$s" curl -s --max-time 300 -o /dev/null -w '%{size_download} %{time_total}' "http://10.99.0.2/download?bytes=$size")
		else
			# An HTTP upload from socat (curl cannot choose CUBIC):
			# timed to the server's answer after the last byte.
			start=$(date +%s.%N)
			{
				printf 'POST /upload HTTP/1.1\r\nHost: 10.99.0.2\r\nContent-Length: %d\r\nConnection: close\r\n\r\n' "$size"
				cat "$out/data"
			} | timeout 300 ip netns exec "$s" socat -t 300 - "TCP:10.99.0.2:80,$cubic" >"$out/up.txt"
			end=$(date +%s.%N)
			res=0
			head -1 "$out/up.txt" | grep -q ' 200' && res="$size $(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')"
		fi
		local kc
		kc=$(nst "$s")
		secs=0
		read -r got t <<<"$res"
		[ "$got" = "$size" ] && secs=$t
		kill -INT "${pids[-1]}" 2>/dev/null
		wait "${pids[-1]}" 2>/dev/null
		if [ "$dir" = stacklab-to-kernel ]; then
			local sc
			sc=$(awk '{m[$1] = $2} END { printf "%d %d %d %d", m["tcp.RetransSegs"], m["tcp.Timeouts"], m["tcp.DSACKRecv"], m["tcp.Undos"] }' "$out/st.txt")
			krow "2 % loss, 5 % reordering, 1 % dup: stacklab → kernel over TUN (linux profile, CUBIC)" "$secs" "$sc"
		else
			krow "2 % loss, 5 % reordering, 1 % dup: kernel → stacklab over TUN (Linux sender, CUBIC)" "$secs" "$kc"
		fi
		cleanup_ns
	done
}
kernel_rows
