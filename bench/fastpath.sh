#!/usr/bin/env bash
# fastpath.sh measures bulk TCP at MTU 1500 in virtual time
# (BenchmarkBulkSim/mtu=1500/capture=off) at the working tree and at
# earlier commits, in interleaved rounds on the same machine, and prints
# each version's median MB/s and its ratio to the first base: issue 13's
# "at least 1.5x the figure before the fast paths" as a figure from one
# run rather than from two runs on different days.
#
#   bench/fastpath.sh                  # bases: aad7ae4 (before the fast
#                                      # paths) and 439f7a0 (when the
#                                      # issue was filed)
#   ROUNDS=9 bench/fastpath.sh REV...  # other bases, more rounds
#
# Each base is built from a temporary git worktree; the script removes it.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
rounds=${ROUNDS:-7}
benchtime=${BENCHTIME:-2s}
bases=("$@")
[ ${#bases[@]} -gt 0 ] || bases=(aad7ae4 439f7a0)

tmp=$(mktemp -d)
cleanup() {
	for b in "${bases[@]}"; do
		git -C "$root" worktree remove --force "$tmp/src-$b" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

names=(now)
(cd "$root" && go test -c -o "$tmp/now.test" ./internal/perf)
for b in "${bases[@]}"; do
	git -C "$root" worktree add --detach --force "$tmp/src-$b" "$b" >/dev/null 2>&1
	(cd "$tmp/src-$b" && go test -c -o "$tmp/$b.test" ./internal/perf)
	names+=("$b")
done

for ((i = 1; i <= rounds; i++)); do
	for n in "${names[@]}"; do
		mbs=$("$tmp/$n.test" -test.run '^$' -test.bench 'BulkSim/mtu=1500/capture=off' -test.benchtime "$benchtime" |
			awk '/MB\/s/ { for (f = 1; f <= NF; f++) if ($(f+1) == "MB/s") print $f }')
		echo "$n $mbs" >>"$tmp/results"
		printf '%s round %d: %s MB/s\n' "$n" "$i" "$mbs" >&2
	done
done

median() { grep "^$1 " "$tmp/results" | awk '{print $2}' | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
ref=$(median "${bases[0]}")
echo "| version | BulkSim MTU 1500, capture off, median of $rounds rounds | ratio to ${bases[0]} |"
echo "|---|---|---|"
for n in "${names[@]}"; do
	m=$(median "$n")
	label=$n
	[ "$n" = now ] && label="working tree ($(git -C "$root" describe --always --dirty))"
	echo "| $label | $m MB/s | $(awk -v a="$m" -v b="$ref" 'BEGIN {printf "%.2f×", a/b}') |"
done
