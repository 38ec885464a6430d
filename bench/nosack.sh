#!/usr/bin/env bash
# nosack.sh: a sender against a receiver that sends no SACK blocks, in
# issue 8's first setting (no delay, no rate limit, 2 % loss, 5 %
# reordering, 1 % duplication each way, 16 MiB), the Linux kernel beside
# stacklab in the same run (root; real time):
# - kernel → kernel: two namespaces joined by two TUN devices and
#   stacklab's impairment pipes (../internal/lossrelay), the receiver's
#   namespace with net.ipv4.tcp_sack=0, the sender on CUBIC (socat);
# - stacklab → kernel: `stacklab tun --serve http` with the same
#   impairments between the device and the stack, curl downloading in a
#   namespace with net.ipv4.tcp_sack=0.
# Prints one Markdown row per sender: seconds, MB/s, RTOs, retransmitted
# segments (the kernel's nstat TcpRetransSegs / stacklab's
# tcp.RetransSegs). The script creates and deletes its namespaces.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
[ "$(id -u)" = 0 ] || { echo "nosack.sh: needs root (network namespaces)" >&2; exit 2; }
for t in ip socat curl nstat bc; do command -v "$t" >/dev/null || { echo "nosack.sh: needs $t" >&2; exit 2; }; done
out=$(mktemp -d)
a=nosack-a; b=nosack-b; s=nosack-s; pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	for ns in "$a" "$b" "$s"; do ip netns del "$ns" 2>/dev/null; done
	rm -rf "$out"
}
trap cleanup EXIT
size=16777216
(cd "$root" && go build -o "$out/stacklab" ./cmd/stacklab && go build -o "$out/lossrelay" ./internal/lossrelay) || exit 1
head -c "$size" /dev/zero >"$out/data"
imp=(-loss 2% -reorder 5% -dup 1%)
echo "| sender → receiver without SACK | seconds | MB/s | RTOs | retransmitted segments |"
echo "|---|---|---|---|---|"

ip netns add "$a" && ip netns add "$b" && ip -n "$a" link set lo up && ip -n "$b" link set lo up
ip netns exec "$b" sysctl -qw net.ipv4.tcp_sack=0
"$out/lossrelay" -a "$a" -b "$b" "${imp[@]}" 2>"$out/relay.txt" &
pids+=($!)
sleep 1
ip netns exec "$b" sh -c "socat -u TCP-LISTEN:5001,reuseaddr - | wc -c >'$out/k.bytes'; date +%s.%N >'$out/k.end'" &
pids+=($!)
sleep 0.5
start=$(date +%s.%N)
timeout 300 ip netns exec "$a" socat -u "OPEN:$out/data" "TCP:10.98.0.2:5001,setsockopt-string=6:13:cubic"
for _ in $(seq 100); do [ -s "$out/k.end" ] && break; sleep 0.2; done
if [ -s "$out/k.end" ] && [ "$(cat "$out/k.bytes")" = "$size" ]; then
	t=$(echo "$(cat "$out/k.end") - $start" | bc -l)
	rto=$(ip netns exec "$a" nstat -asz TcpExtTCPTimeouts | awk '$1 == "TcpExtTCPTimeouts" { print $2 }')
	rt=$(ip netns exec "$a" nstat -asz TcpRetransSegs | awk '$1 == "TcpRetransSegs" { print $2 }')
	printf '| kernel → kernel (Linux %s, CUBIC) | %.1f | %.2f | %d | %d |\n' "$(uname -r)" "$t" "$(echo "$size / $t / 1000000" | bc -l)" "$rto" "$rt"
else
	echo "| kernel → kernel | failed | | | |"
fi
for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
pids=()
ip netns del "$a"; ip netns del "$b"

ip netns add "$s" && ip -n "$s" link set lo up
ip netns exec "$s" sysctl -qw net.ipv4.tcp_sack=0
"$out/stacklab" tun --netns "$s" --serve http --cc cubic --loss 2% --reorder 5% --dup 1% --seed 1 2>"$out/st.txt" &
tp=$!
for _ in $(seq 50); do grep -q "http server" "$out/st.txt" 2>/dev/null && break; sleep 0.2; done
res=$(ip netns exec "$s" curl -s --max-time 300 -o /dev/null -w '%{size_download} %{time_total}' "http://10.99.0.2/download?bytes=$size")
kill -INT "$tp"; wait "$tp"
read -r got t <<<"$res"
if [ "$got" = "$size" ]; then
	rto=$(awk '$1 == "tcp.Timeouts" { print $2 }' "$out/st.txt")
	rt=$(awk '$1 == "tcp.RetransSegs" { print $2 }' "$out/st.txt")
	printf '| stacklab → kernel over TUN (linux profile, CUBIC) | %.1f | %.2f | %d | %d |\n' "$t" "$(echo "$size / $t / 1000000" | bc -l)" "${rto:-0}" "${rt:-0}"
else
	echo "| stacklab → kernel over TUN | failed | | | |"
fi
