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
	// ErrUnsupported means an ARP packet for a hardware or protocol type
	// other than Ethernet and IPv4.
	ErrUnsupported = errors.New("wire: unsupported arp hardware or protocol type")
)
