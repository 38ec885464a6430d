package wire

import "errors"

// Sentinel errors returned by the Parse functions. They are comparable
// values, so a caller can count drops by reason without allocating.
var (
	// ErrTruncated means the buffer is shorter than the header or than
	// the length the header claims.
	ErrTruncated = errors.New("wire: packet truncated")
	// ErrBadVersion means an IPv4 header whose version field is not 4.
	ErrBadVersion = errors.New("wire: ip version is not 4")
	// ErrBadVersion6 means an IPv6 header whose version field is not 6.
	ErrBadVersion6 = errors.New("wire: ip version is not 6")
	// ErrBadHeaderLen means a header length field below the minimum
	// (IPv4 IHL < 5, TCP data offset < 5).
	ErrBadHeaderLen = errors.New("wire: header length field too small")
	// ErrBadLength means a total or datagram length field that is smaller
	// than its own header.
	ErrBadLength = errors.New("wire: length field smaller than the header")
	// ErrBadChecksum means the checksum does not verify.
	ErrBadChecksum = errors.New("wire: bad checksum")
	// ErrBadOption means a TCP or IPv4 option list whose lengths do not
	// add up.
	ErrBadOption = errors.New("wire: malformed option")
	// ErrBadExtension means an IPv6 extension header chain that breaks
	// RFC 8200 §4: a hop-by-hop header that is not first, or more headers
	// than [IPv6MaxExtHeaders].
	ErrBadExtension = errors.New("wire: bad ipv6 extension header chain")
	// ErrBadNDP means a neighbour discovery message that fails the
	// validity checks of RFC 4861 (hop limit 255, code 0, length, options
	// of zero length).
	ErrBadNDP = errors.New("wire: invalid neighbour discovery message")
	// ErrUnsupported means an ARP packet for a hardware or protocol type
	// other than Ethernet and IPv4.
	ErrUnsupported = errors.New("wire: unsupported arp hardware or protocol type")
)
