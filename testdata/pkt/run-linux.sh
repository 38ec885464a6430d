#!/usr/bin/env bash
# Runs this directory's packetdrill scripts against the Linux kernel, each in a
# fresh network namespace (unshare -n; needs root), with real packetdrill.
# Usage: PACKETDRILL=/path/to/packetdrill testdata/pkt/run-linux.sh [FILE.pkt|DIR...] [-- FLAGS]
#   PACKETDRILL (or the first argument --packetdrill=PATH) names the packetdrill binary.
# The kernel runs in real time, so the default flags relax the timing tolerance
# (--tolerance_usecs=20000); stacklab checks the same scripts exactly in virtual time.
# Flags after -- replace the defaults and follow --ip_version=ipv4, so
# "-- --tolerance_usecs=20000 --ip_version=ipv4-mapped-ipv6" runs them on AF_INET6 sockets.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
pd=${PACKETDRILL:-}
if [ $# -gt 0 ] && [ "${1#--packetdrill=}" != "$1" ]; then pd=${1#--packetdrill=}; shift; fi
if [ -z "$pd" ] || [ ! -x "$pd" ]; then
  echo "run-linux.sh: set PACKETDRILL to the packetdrill binary (got '${pd}')" >&2; exit 2
fi
files=(); flags=(--tolerance_usecs=20000)
while [ $# -gt 0 ]; do
  if [ "$1" = "--" ]; then shift; flags=("$@"); break; fi
  if [ -d "$1" ]; then while IFS= read -r f; do files+=("$f"); done < <(find "$1" -name '*.pkt' | sort)
  else files+=("$1"); fi
  shift
done
if [ ${#files[@]} -eq 0 ]; then while IFS= read -r f; do files+=("$f"); done < <(find "$here" -name '*.pkt' | sort); fi
pass=0; fail=0
for f in "${files[@]}"; do
  log=$(cd "$(dirname "$f")" && timeout 120 unshare -n "$pd" --ip_version=ipv4 "${flags[@]}" "$(basename "$f")" 2>&1); rc=$?
  if [ $rc -eq 0 ]; then pass=$((pass+1)); echo "PASS $f"
  else fail=$((fail+1)); echo "FAIL $f: $(echo "$log" | grep -v '^sysctl:' | grep -m1 -E 'error|Expected|expected' || echo "exit $rc")"; fi
done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
