#!/bin/sh
# The settings upstream packetdrill's gtests/net/common/defaults.sh gives
# the kernel before each of its scripts, so that scripts written for that
# tree run here unchanged (on the kernel by run-linux.sh; stacklab's pkt
# runner maps a command ending in common/defaults.sh to the settings it
# has, see pkt/run/code.go). Errors are ignored, as upstream's: in a
# network namespace some kernels refuse a congestion control that is not
# allowed there.
sysctl -q \
	net.ipv4.tcp_rmem="4096 540000 15728640" \
	net.ipv4.tcp_wmem="4096 262144 4194304" \
	net.ipv4.tcp_timestamps=1 \
	net.ipv4.tcp_syn_retries=5 \
	net.ipv4.tcp_synack_retries=5 \
	net.ipv4.tcp_sack=1 \
	net.ipv4.tcp_dsack=1 \
	net.ipv4.tcp_reordering=3 \
	net.ipv4.tcp_slow_start_after_idle=0 \
	net.ipv4.tcp_early_retrans=4 \
	net.ipv4.tcp_recovery=1 \
	net.ipv4.tcp_ecn=0 \
	net.ipv4.tcp_syncookies=1 2>/dev/null
sysctl -q net.ipv4.tcp_frto=2 2>/dev/null
sysctl -q net.ipv4.tcp_congestion_control=cubic 2>/dev/null
sysctl -q net.ipv4.tcp_notsent_lowat=4294967295 2>/dev/null
exit 0
