package trace

import (
	"bytes"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"stacklab/stack/core"
)

// traceBoth runs run twice, once as the Tracer normally works and once
// forgetting every cache before each frame and event, and fails if the
// two outputs differ: the caches must never change a byte.
func traceBoth(t *testing.T, name string, run func(*bytes.Buffer)) {
	t.Helper()
	var cached, fresh bytes.Buffer
	run(&cached)
	forgetEach = true
	defer func() { forgetEach = false }()
	run(&fresh)
	if cached.Len() == 0 {
		t.Fatalf("%s: empty trace", name)
	}
	if !bytes.Equal(cached.Bytes(), fresh.Bytes()) {
		cl, fl := bytes.Split(cached.Bytes(), []byte("\n")), bytes.Split(fresh.Bytes(), []byte("\n"))
		for i := 0; i < len(cl) && i < len(fl); i++ {
			if !bytes.Equal(cl[i], fl[i]) {
				t.Fatalf("%s: line %d differs with the caches:\ncached: %s\n fresh: %s", name, i+1, cl[i], fl[i])
			}
		}
		t.Fatalf("%s: %d lines with the caches, %d without", name, len(cl), len(fl))
	}
}

// TestCachesChangeNothing traces the reference captures (raw IP) and a
// made-up sequence (Ethernet and raw IP, with and without checksums, frames whose
// TTL, TOS, flags, vantage point and direction change, series events of
// three connections and other events between) with and without the
// caches.
func TestCachesChangeNothing(t *testing.T) {
	for _, path := range linuxCaptures(t) {
		for _, f := range []Format{Text, JSON} {
			traceBoth(t, filepath.Base(path)+" "+f.String(), func(w *bytes.Buffer) {
				if err := TraceFile(path, w, f); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
	names := map[netip.Addr]string{netip.MustParseAddr("10.0.0.1"): "client", netip.MustParseAddr("10.0.0.2"): "server"}
	conns := []core.Tuple{
		{Local: netip.MustParseAddrPort("10.0.0.1:49152"), Remote: netip.MustParseAddrPort("10.0.0.2:80")},
		{Local: netip.MustParseAddrPort("10.0.0.2:80"), Remote: netip.MustParseAddrPort("10.0.0.1:49152")},
		{Local: netip.MustParseAddrPort("10.0.0.1:49153"), Remote: netip.MustParseAddrPort("10.0.0.2:80")},
	}
	for _, f := range []Format{Text, JSON} {
		for _, sums := range []bool{false, true} {
			traceBoth(t, f.String(), func(w *bytes.Buffer) {
				tr := New(w, Options{Format: f, Checksums: sums, Names: names, Start: time.Unix(1, 0)})
				for i := range 60 {
					data := bytes.Clone(synFrame)
					if i%4 != 0 { // every fourth keeps its IPv4 header and checksum
						data[14+1] = byte(i % 3 * 4)      // TOS
						data[14+8] = byte(64 - i%2)       // TTL
						data[14+6] = byte(0x40 * (i % 2)) // DF
					}
					data[14+20+13] = []byte{0x02, 0x12, 0x10, 0x18, 0x11}[i%5]
					data[14+20+7] = byte(i) // seq
					host, vantage, dir := "client", "client:eth0", DirOut
					if i%3 == 1 {
						host, vantage, dir = "server", "server:eth0", DirIn
					} else if i%3 == 2 {
						dir = DirIn
					}
					at := time.Unix(1, int64(i/4)*int64(time.Millisecond))
					link := LinkEthernet
					if i%5 == 3 { // the same packet on a raw IP link
						link, data = LinkRawIP, data[14:]
					}
					tr.Frame(&Frame{Time: at, Host: host, Vantage: vantage, Link: link, Dir: dir, ID: uint64(i/2 + 1), Data: data,
						Note: []string{"", "send", "ack of data", "fast \"retransmit\"", "drop"}[i%5]}, nil)
					vars := core.TCPVars{Cwnd: 14480 + i%4*1448, Ssthresh: []int{-1, 28960}[i%2], SRTT: time.Duration(i%3) * time.Millisecond,
						RTTVar: -time.Microsecond * time.Duration(i%2), RTO: 200 * time.Millisecond, InFlight: i % 7, RcvWnd: 65535, SndWnd: 64512, CAState: "open"}
					c := conns[i/4%3]
					tr.Event(&core.Event{Time: at, Host: names[c.Local.Addr()], Kind: core.EventSeries, FD: -1 + i%2*4, Proto: "tcp", Conn: c, Vars: &vars})
					if i%7 == 0 {
						tr.Event(&core.Event{Time: at, Host: "client", Kind: core.EventCongestion, FD: -1, Proto: "tcp", Conn: c, Detail: "fast retransmit", Vars: &vars})
					}
				}
				if err := tr.Flush(); err != nil {
					t.Fatal(err)
				}
			})
		}
	}
}
