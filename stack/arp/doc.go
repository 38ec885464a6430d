// Package arp is the Address Resolution Protocol (RFC 826) for IPv4 over
// Ethernet, written sans-IO: a [Cache] of neighbours with a bounded queue
// of packets waiting for each unresolved address, request retries and
// timeouts, and the receive logic of RFC 826 "Packet Reception".
//
// The package sends nothing, starts no timer and reads no clock. The
// caller passes the current time to every method, sends the requests and
// replies it is told to, and calls [Cache.Expired] when
// [Cache.NextDeadline] is reached. Nothing here is safe for concurrent
// use; the stack calls it with its lock held.
//
// Neighbour states follow a reduced form of Linux's neighbour
// unreachability detection (RFC 4861 §7.3.2 has the IPv6 original):
//
//	incomplete → reachable        a reply or request from the address
//	incomplete → (removed)        no answer after Config.MaxProbes requests
//	reachable  → stale            Config.ReachableTime after the last confirmation
//	stale      → probe            the entry is used while stale (Lookup)
//	stale      → delay            the same, with Config.DelayFirstProbe set (NDP)
//	delay      → reachable        a confirmation within DelayFirstProbe
//	delay      → probe            none by then
//	probe      → reachable        a reply or confirmation arrives
//	probe      → (removed)        no answer after Config.MaxProbes unicast requests
//	stale      → (removed)        unused for Config.StaleTime
package arp
