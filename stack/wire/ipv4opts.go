package wire

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
