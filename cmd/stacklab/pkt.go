package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"stacklab/pkt/run"
)

func init() { registerCommand(newPktCmd) }

func newPktCmd(s *Streams) *cobra.Command {
	var (
		o      run.Options
		tolUS  int64
		tickUS int64
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "pkt FILE.pkt|DIR...",
		Short: "Play packetdrill scripts against the stack in virtual time",
		Long: `pkt plays packetdrill scripts (.pkt) against stacklab's TCP stack in
virtual time. The stack under test has 192.168.0.1/16 on a raw-IP
interface; the script's remote end is 192.0.2.1 (with --ip_version=ipv6,
fd3d:fa7b:d17d::1/48 and 2001:db8::1, packetdrill's IPv6 defaults, and
the ICMP lines are ICMPv6 with ICMPv6's names; a script named *v4.pkt is
then skipped, one named *v6.pkt is played only then, as upstream
packetdrill's run_all.py, which also gives --mtu=1520 over IPv6 so that
the MSS stays 1460). Inbound packets (<) are
injected with the script's sequence numbers and timestamps mapped to the
live ones; outbound packets (>) must match exactly (flags, seq, ack, window,
options in order, ECN) at the script's time, within --tolerance_usecs
(0 by default: virtual time is exact), or --tolerance_percent of the time
since the previous event if that is more (packetdrill's defaults are
4000 and 12.5). Segments sent together are merged
into one line, as the kernel's TSO packets, unless --strict_segments.
System calls go through the stack's descriptor facade; backtick blocks may
hold sysctl net.ipv4.tcp_* settings (anything else skips the script) and
%{ assert ... }% blocks check tcp_info fields.

Each script prints PASS, FAIL (file:line, expected and actual, the last
trace lines) or SKIP with the reason; a directory runs every .pkt below it
and ends with "N passed, N failed, N skipped". Exit code: 0 when none
failed, 1 when one failed, 2 when a script did not parse or a path is bad.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if tolUS < 0 {
				return badInput(fmt.Errorf("--tolerance_usecs wants microseconds, 0 or more"))
			}
			if err := run.CheckIPVersion(o.IPVersion); err != nil {
				return badInput(err)
			}
			if err := run.CheckMTU(o.MTU); err != nil {
				return badInput(err)
			}
			if o.TolerancePercent < 0 || o.TolerancePercent > 100 {
				return badInput(fmt.Errorf("--tolerance_percent wants a percentage from 0 to 100"))
			}
			if tickUS < 0 {
				return badInput(fmt.Errorf("--tcp_ts_tick_usecs wants microseconds, 0 or more"))
			}
			o.Tolerance = time.Duration(tolUS) * time.Microsecond
			o.TSTick = time.Duration(tickUS) * time.Microsecond
			files, err := run.Expand(args)
			if err != nil {
				return badInput(err)
			}
			sum := run.Report(s.Out, files, o, asJSON)
			switch sum.Exit() {
			case 2:
				return badInput(nil)
			case 1:
				return failed(nil)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.Int64Var(&tolUS, "tolerance_usecs", 0, "how far (µs) a packet or a call's return may be from its script time")
	f.Float64Var(&o.TolerancePercent, "tolerance_percent", 0, "widen the tolerance to this percentage of the time since the previous event, as packetdrill's (12.5 there: the kernel's timer wheel's slack; 0 here: virtual time is exact)")
	f.Int64Var(&tickUS, "tcp_ts_tick_usecs", 0, "check outbound TS vals, the script's ticking this many µs (0: TS val not checked, as packetdrill)")
	f.BoolVar(&o.StrictSegments, "strict_segments", false, "match each segment to its own line (no TSO-style merging)")
	f.Uint64Var(&o.Seed, "seed", 1, "seed of the stack's randomness (ISN, ports)")
	f.StringVarP(&o.Dir, "out", "o", "", "write each script's capture (pcapng) and trace into DIR/PARENT/NAME/")
	f.BoolVar(&asJSON, "json", false, "one JSON object per script, then the summary")
	f.StringVar(&o.IPVersion, "ip_version", "ipv4", "ipv4; ipv4-mapped-ipv6: AF_INET6 sockets with IPv4-mapped addresses over IPv4 packets; ipv6: AF_INET6 sockets over IPv6 (a script's own --ip_version wins)")
	f.IntVar(&o.MTU, "mtu", 0, "the interface's MTU (default 1500, as packetdrill's; its run_all.py uses 1520 over IPv6; a script's own --mtu wins)")
	return cmd
}
