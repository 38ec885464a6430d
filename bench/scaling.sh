#!/usr/bin/env bash
# scaling.sh measures how stacklab's wall time grows with what a run asks
# for, and how a sweep spreads over cores, and prints Markdown tables for
# the README: wall time against simulated duration, flows on one
# bottleneck and routers in a chain (go test -bench 'Scale' ./sim/scenario,
# median of COUNT runs) with the fitted exponent k of wall ∝ xᵏ, then
# `stacklab run --sweep --jobs J` for J = 1 up to the machine's cores.
# `make bench` calls it after run.sh.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
count=${COUNT:-3}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

note() { printf '%s\n' "$*" >&2; }

note "scaling: go test -bench Scale ./sim/scenario (count $count) ..."
(cd "$root" && go test -run '^$' -bench 'Scale' -benchtime 1x -count "$count" ./sim/scenario) >"$out/scale.txt"

# table NAME KEY: one row per x (the number after KEY=), the median wall
# time and packets, then the least-squares slope of log(wall) on log(x).
table() {
	grep "^Benchmark$1/$2=" "$out/scale.txt" |
		sed -E "s/^Benchmark$1\/$2=([0-9]+)[a-z]*-[0-9]+[[:space:]]+[0-9]+[[:space:]]+([0-9.]+) ns\/op[[:space:]]+([0-9.]+) pkts\/run.*/\1 \2 \3/" |
		sort -n -k1,1 -k2,2 |
		awk -v what="$3" -v unit="$4" '
		{ xs[$1] = xs[$1] " " $2; p[$1] = $3; if (!($1 in seen)) { seen[$1] = 1; order[n++] = $1 } }
		END {
			printf "| %s | wall time (median) | packets | µs per packet |\n|---|---|---|---|\n", what
			for (i = 0; i < n; i++) {
				x = order[i]; m = split(substr(xs[x], 2), v, " ")
				# median of the runs (sorted: the input was)
				med = v[int((m + 1) / 2)]
				printf "| %d%s | %.1f ms | %d | %.2f |\n", x, unit, med / 1e6, p[x], med / 1e3 / p[x]
				lx = log(x); ly = log(med); sx += lx; sy += ly; sxx += lx * lx; sxy += lx * ly
			}
			k = (n * sxy - sx * sy) / (n * sxx - sx * sx)
			printf "\nexponent: wall ∝ %s^%.2f\n\n", what, k
		}'
}

echo "### Scaling (stacklab alone: how wall time grows)"
echo
echo "\`COUNT=$count bash bench/scaling.sh\` on $(nproc) cores ($(date -u +%Y-%m-%d))."
echo
table ScaleDuration sim "simulated seconds (one 10 Mbit/s flow)" " s"
table ScaleFlows flows "flows on one 100 Mbit/s bottleneck (48 MB in all)" ""
table ScaleRouters routers "routers in a chain (one 4 MiB flow)" ""

note "scaling: stacklab run --sweep with --jobs 1..$(nproc) ..."
(cd "$root" && go build -o "$out/stacklab" ./cmd/stacklab)
seeds=${SWEEP_SEEDS:-40}
echo "| \`stacklab run ecn-codel --sweep $seeds --jobs J\` | wall time | speed-up |"
echo "|---|---|---|"
base=
for j in $(seq 1 "$(nproc)"); do
	start=$(date +%s.%N)
	"$out/stacklab" run ecn-codel --sweep "$seeds" --jobs "$j" >"$out/sweep$j.txt" 2>/dev/null
	end=$(date +%s.%N)
	t=$(echo "$end - $start" | bc -l)
	[ -n "$base" ] || base=$t
	cmp -s "$out/sweep1.txt" "$out/sweep$j.txt" || { note "scaling: --jobs $j printed something else than --jobs 1"; exit 1; }
	printf '| J = %d | %.2f s | %.2f× |\n' "$j" "$t" "$(echo "$base / $t" | bc -l)"
done
