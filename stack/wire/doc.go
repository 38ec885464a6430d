// Package wire holds views and builders for the headers stacklab speaks:
// Ethernet II, ARP, IPv4, ICMPv4, UDP and TCP with its options, and the
// Internet checksum.
//
// Each header is a view over a byte slice, in the style of gVisor's
// header package: [Ethernet], [ARP], [IPv4], [ICMPv4], [UDP] and [TCP] are
// named []byte types with offset constants, getters, setters and an
// Encode method that writes the header from a fields struct
// ([EthernetFields], [IPv4Fields], …). A view must be validated once, by
// its Parse function ([ParseIPv4], [ParseTCP], …) or IsValid method, before
// its getters are used on bytes from the network; after that every getter
// is a plain load that cannot panic.
//
// Parse functions return sentinel errors ([ErrTruncated], [ErrBadVersion],
// [ErrBadHeaderLen], [ErrBadChecksum], …) so the stack can count drops by
// reason with errors.Is or ==; none of them allocates.
//
// Nothing in this package allocates when parsing or building. Addresses
// are returned as netip.Addr values built with netip.AddrFrom4 and MAC
// addresses as the comparable [MAC] array.
//
// The checksum functions implement RFC 1071 with 64-bit accumulation, the
// pseudo-header of RFC 9293 §3.1 and RFC 768, and the incremental update of
// RFC 1624.
package wire
