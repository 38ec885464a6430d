#!/usr/bin/env bash
# Runs this directory's packetdrill scripts against the Linux kernel, each in a
# fresh network namespace (unshare -n; needs root), with real packetdrill.
# Usage: PACKETDRILL=/path/to/packetdrill testdata/pkt/run-linux.sh [FILE.pkt|DIR...] [-- FLAGS]
#   PACKETDRILL (or the first argument --packetdrill=PATH) names the packetdrill binary.
# The kernel runs in real time, so the default flags relax the timing tolerance
# (--tolerance_usecs=20000); stacklab checks the same scripts exactly in virtual time.
# Flags after -- replace the defaults and follow --ip_version=ipv4, so
# "-- --tolerance_usecs=20000 --ip_version=ipv4-mapped-ipv6" runs them on AF_INET6 sockets
# and "-- --tolerance_usecs=20000 --ip_version=ipv6 --mtu=1520" over IPv6 (upstream
# packetdrill's run_all.py gives --mtu=1520 there, so the MSS stays 1460). As run_all.py,
# a script named *v4.pkt is not run over IPv6 and one named *v6.pkt only over IPv6 (SKIP).
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
ipv=ipv4
for a in "${flags[@]}"; do case $a in --ip_version=*) ipv=${a#--ip_version=};; esac; done
pass=0; fail=0; skip=0
for f in "${files[@]}"; do
  case "$ipv:$f" in
    ipv6:*v4.pkt) skip=$((skip+1)); echo "SKIP $f: an IPv4-only script (*v4.pkt), not run over IPv6"; continue;;
    ipv4*:*v6.pkt) skip=$((skip+1)); echo "SKIP $f: an IPv6-only script (*v6.pkt), run over IPv6 only"; continue;;
  esac
  log=$(cd "$(dirname "$f")" && timeout 120 unshare -n "$pd" --ip_version=ipv4 "${flags[@]}" "$(basename "$f")" 2>&1); rc=$?
  if [ $rc -eq 0 ]; then pass=$((pass+1)); echo "PASS $f"
  else fail=$((fail+1)); echo "FAIL $f: $(echo "$log" | grep -v '^sysctl:' | grep -m1 -E 'error|Expected|expected' || echo "exit $rc")"; fi
done
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
