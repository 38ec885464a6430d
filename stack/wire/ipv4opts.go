package wire

import (
	"encoding/binary"
	"net/netip"
	"time"
)

// IPv4 option kinds whose contents a receiver checks (RFC 791 §3.1).
const (
	IPv4OptRR   = 7   // record route
	IPv4OptTS   = 68  // internet timestamp (RFC 791, RFC 781)
	IPv4OptLSRR = 131 // loose source and record route
	IPv4OptSSRR = 137 // strict source and record route
	IPv4OptRA   = 148 // router alert (RFC 2113)
)

// IPv4OptionProblem checks the contents of a received packet's options
// as Linux's ip_options_compile does on input, once [ParseIPv4] has
// checked their lengths: a pointer below its minimum or with no room for
// the next entry where one is due, a second record-route, timestamp or
// source-route option, a timestamp option whose overflow count is
// already 15, a router alert shorter than 4 bytes, a source route
// shorter than 3. It returns the offset from the start of the header that
// a parameter problem points at (RFC 792), or -1; and whether the packet
// carries a source route (LSRR or SSRR), which Linux drops unless
// accept_source_route is set.
func (b IPv4) IPv4OptionProblem() (pointer int, sourceRoute bool) {
	opts := b.Options()
	var seenRR, seenTS bool
	at := func(i int) int { return IPv4MinHeaderLen + i }
	for i := 0; i < len(opts); {
		kind := opts[i]
		if kind == 0 {
			break
		}
		if kind == 1 {
			i++
			continue
		}
		if i+1 >= len(opts) || opts[i+1] < 2 || i+int(opts[i+1]) > len(opts) {
			return at(i), sourceRoute // lengths (ParseIPv4 has refused these already)
		}
		o := opts[i : i+int(opts[i+1])]
		n := len(o)
		switch kind {
		case IPv4OptLSRR, IPv4OptSSRR:
			if n < 3 {
				return at(i + 1), sourceRoute
			}
			if o[2] < 4 {
				return at(i + 2), sourceRoute
			}
			if sourceRoute {
				return at(i), sourceRoute
			}
			sourceRoute = true
		case IPv4OptRR:
			if seenRR {
				return at(i), sourceRoute
			}
			seenRR = true
			if n < 3 {
				return at(i + 1), sourceRoute
			}
			if o[2] < 4 || int(o[2]) <= n && int(o[2])+3 > n {
				return at(i + 2), sourceRoute
			}
		case IPv4OptTS:
			if seenTS {
				return at(i), sourceRoute
			}
			seenTS = true
			if n < 4 {
				return at(i + 1), sourceRoute
			}
			ptr := int(o[2])
			if ptr < 5 {
				return at(i + 2), sourceRoute
			}
			if ptr <= n {
				if ptr+3 > n {
					return at(i + 2), sourceRoute
				}
				if flag := o[3] & 0xf; (flag == 1 || flag == 3) && ptr+7 > n {
					return at(i + 2), sourceRoute
				}
			} else if o[3]&0xf != 3 && o[3]>>4 == 15 {
				return at(i + 3), sourceRoute // the overflow count cannot grow
			}
		case IPv4OptRA:
			if n < 4 {
				return at(i + 1), sourceRoute
			}
		}
		i += n
	}
	return -1, sourceRoute
}

// IPv4OptRecord says where a packet's record-route and timestamp options
// are and which entries a host still owes them, as Linux's struct
// ip_options after ip_options_compile: RR and TS are offsets from the
// start of the header (0: no such option).
type IPv4OptRecord struct {
	RR, TS                 int
	RRNeedAddr             bool // an address is due in the record route
	TSNeedAddr, TSNeedTime bool // an address and/or a time is due in the timestamp
}

// IPv4Timestamp is the time an IPv4 timestamp option carries: milliseconds
// since midnight UT (RFC 791), as Linux's inet_current_timestamp.
func IPv4Timestamp(t time.Time) uint32 {
	t = t.UTC()
	return uint32((t.Hour()*3600+t.Minute()*60+t.Second())*1000 + t.Nanosecond()/1e6)
}

// RecordIPv4Options fills in the record-route and timestamp options of a
// received packet, whose options [IPv4.IPv4OptionProblem] has passed, as
// Linux's ip_options_compile does on input: the next record-route slot
// gets addr (the address the packet came to) and the pointer moves on;
// the timestamp option gets the time ms (flag 0), addr and the time
// (flag 1), or the time when the next prespecified address is local
// (flag 3); a full timestamp option counts one more overflow. b is
// changed in place: the caller owns it and sets the checksum after.
func (b IPv4) RecordIPv4Options(addr netip.Addr, ms uint32, local func(netip.Addr) bool) IPv4OptRecord {
	var st IPv4OptRecord
	opts := b.Options()
	for i := 0; i < len(opts); {
		kind := opts[i]
		if kind == 0 {
			break
		}
		if kind == 1 || i+1 >= len(opts) || opts[i+1] < 2 {
			i++
			continue
		}
		n := min(int(opts[i+1]), len(opts)-i)
		o := opts[i : i+n]
		switch kind {
		case IPv4OptRR:
			st.RR = IPv4MinHeaderLen + i
			if p := int(o[2]); p <= n && p+3 <= n {
				putAddr4(o[p-1:], addr)
				o[2] += 4
				st.RRNeedAddr = true
			}
		case IPv4OptTS:
			st.TS = IPv4MinHeaderLen + i
			p := int(o[2])
			if p > n {
				if o[3]&0xf != 3 && o[3]>>4 < 15 {
					o[3] += 0x10 // one more host found no room
				}
				break
			}
			switch o[3] & 0xf {
			case 0:
				binary.BigEndian.PutUint32(o[p-1:], ms)
				o[2] += 4
				st.TSNeedTime = true
			case 1:
				putAddr4(o[p-1:], addr)
				binary.BigEndian.PutUint32(o[p+3:], ms)
				o[2] += 8
				st.TSNeedAddr, st.TSNeedTime = true, true
			case 3:
				if local(netip.AddrFrom4([4]byte(o[p-1 : p+3]))) {
					binary.BigEndian.PutUint32(o[p+3:], ms)
					o[2] += 8
					st.TSNeedTime = true
				}
			}
		}
		i += n
	}
	return st
}

// ForwardIPv4Options is Linux's ip_forward_options for a packet whose
// options [IPv4.RecordIPv4Options] filled in on arrival: a router records
// the address of the interface it sends the packet out of in the record
// route, over the one it wrote on arrival. The timestamp keeps the
// arrival address (checked on Linux 6.18: ping -T tsandaddr through a
// router lists the router's address on the sender's side).
func (b IPv4) ForwardIPv4Options(st IPv4OptRecord, out netip.Addr) {
	if st.RRNeedAddr {
		putAddr4(b[st.RR+int(b[st.RR+2])-5:], out)
	}
}

// EchoIPv4Options builds the options of a reply (an echo reply) to a
// packet whose options [IPv4.RecordIPv4Options] filled in, as Linux's
// ip_options_echo: the record route, then the timestamp, copied with a
// slot kept for the replying host where one is due; other options are not
// returned. The result is padded to a multiple of 4 bytes; st's offsets
// are for a header holding it after the fixed 20 bytes, for
// [IPv4.BuildIPv4Options] to fill in once the reply's source is known.
// ok is false where Linux refuses to answer: a slot is due but less than
// a whole entry is left.
func (b IPv4) EchoIPv4Options(in IPv4OptRecord, local func(netip.Addr) bool) (opts []byte, st IPv4OptRecord, ok bool) {
	if in.RR != 0 {
		o := b[in.RR : in.RR+int(b[in.RR+1])]
		st.RR = IPv4MinHeaderLen + len(opts)
		at := len(opts)
		opts = append(opts, o...)
		if p := int(o[2]); in.RRNeedAddr && p <= len(o) {
			if p+3 > len(o) {
				return nil, st, false
			}
			opts[at+2] += 4
			st.RRNeedAddr = true
		}
	}
	if in.TS != 0 {
		o := b[in.TS : in.TS+int(b[in.TS+1])]
		st.TS = IPv4MinHeaderLen + len(opts)
		at := len(opts)
		opts = append(opts, o...)
		if p := int(o[2]); p <= len(o) {
			if in.TSNeedAddr {
				if p+3 > len(o) {
					return nil, st, false
				}
				st.TSNeedAddr = true
				p += 4
			}
			if in.TSNeedTime {
				if p+3 > len(o) {
					return nil, st, false
				}
				if o[3]&0xf != 3 {
					st.TSNeedTime = true
					p += 4
				} else if p+7 <= len(o) && local(netip.AddrFrom4([4]byte(o[p-1:p+3]))) {
					st.TSNeedTime = true
					p += 8
				}
			}
			opts[at+2] = byte(p)
		}
	}
	for len(opts)%4 != 0 {
		opts = append(opts, 0)
	}
	return opts, st, true
}

// BuildIPv4Options fills in the entries st keeps for the sending host,
// as Linux's ip_options_build: its address src and the time ms.
func (b IPv4) BuildIPv4Options(st IPv4OptRecord, src netip.Addr, ms uint32) {
	if st.RRNeedAddr {
		putAddr4(b[st.RR+int(b[st.RR+2])-5:], src)
	}
	if st.TSNeedAddr {
		putAddr4(b[st.TS+int(b[st.TS+2])-9:], src)
	}
	if st.TSNeedTime {
		binary.BigEndian.PutUint32(b[st.TS+int(b[st.TS+2])-5:], ms)
	}
}
