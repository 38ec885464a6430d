package trace

import (
	"bytes"
	"encoding/binary"
	"net"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

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

// tcpExchangeFrame builds an Ethernet/IPv4/TCP frame with timestamps and
// n bytes of payload, checksums computed.
func tcpExchangeFrame(t *testing.T, fromClient bool, seq, ack uint32, n int, tsval uint32) []byte {
	t.Helper()
	cmac, smac := net.HardwareAddr{2, 0, 0, 0, 0, 1}, net.HardwareAddr{2, 0, 0, 0, 0, 2}
	cip, sip := net.IP{10, 0, 0, 1}, net.IP{10, 0, 0, 2}
	eth := &layers.Ethernet{SrcMAC: cmac, DstMAC: smac, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Flags: layers.IPv4DontFragment, Protocol: layers.IPProtocolTCP, SrcIP: cip, DstIP: sip, Id: uint16(seq)}
	tcp := &layers.TCP{SrcPort: 49152, DstPort: 80, Seq: seq, Ack: ack, ACK: true, PSH: n > 0, Window: 502,
		Options: []layers.TCPOption{{OptionType: layers.TCPOptionKindNop}, {OptionType: layers.TCPOptionKindNop},
			{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, tsval), tsval-1)}}}
	if !fromClient {
		eth.SrcMAC, eth.DstMAC = smac, cmac
		ip.SrcIP, ip.DstIP = sip, cip
		tcp.SrcPort, tcp.DstPort = 80, 49152
	}
	tcp.SetNetworkLayerForChecksum(ip)
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		eth, ip, tcp, gopacket.Payload(make([]byte, n))); err != nil {
		t.Fatal(err)
	}
	return bytes.Clone(buf.Bytes())
}

// TestCachesChangeNothingExchange runs a data transfer seen at both
// ends (each frame sent at one vantage point and received, with the same
// id, at the other, so that the receiver's copy reuses the sender's
// layers and the ACKs measure RTTs) with and without the caches.
func TestCachesChangeNothingExchange(t *testing.T) {
	names := map[netip.Addr]string{netip.MustParseAddr("10.0.0.1"): "client", netip.MustParseAddr("10.0.0.2"): "server"}
	for _, f := range []Format{Text, JSON} {
		traceBoth(t, "exchange "+f.String(), func(w *bytes.Buffer) {
			tr := New(w, Options{Format: f, Checksums: true, Names: names, Start: time.Unix(1, 0)})
			id := uint64(0)
			at := time.Unix(1, 0)
			send := func(fromClient bool, data []byte, delay time.Duration) {
				id++
				src, dst := "client", "server"
				if !fromClient {
					src, dst = dst, src
				}
				tr.Frame(&Frame{Time: at, Host: src, Vantage: src + ":eth0", Link: LinkEthernet, Dir: DirOut, ID: id, Data: data, Note: "send"}, nil)
				tr.Frame(&Frame{Time: at.Add(delay), Host: dst, Vantage: dst + ":eth0", Link: LinkEthernet, Dir: DirIn, ID: id, Data: data}, nil)
			}
			const mss = 1448
			seq, ack := uint32(1000), uint32(5000)
			for i := range 40 {
				at = at.Add(time.Millisecond)
				send(true, tcpExchangeFrame(t, true, seq, ack, mss, uint32(100+i)), 5*time.Millisecond)
				seq += mss
				if i%2 == 1 { // a delayed ACK every second segment
					send(false, tcpExchangeFrame(t, false, ack, seq, 0, uint32(200+i)), 5*time.Millisecond)
				}
			}
			if err := tr.Flush(); err != nil {
				t.Fatal(err)
			}
		})
	}
}
