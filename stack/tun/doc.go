// Package tun attaches a stacklab stack to a Linux TUN (raw IPv4) or TAP
// (Ethernet) device, so that the kernel's own TCP/IP stack, and every
// program that uses it (curl, nc, ping, a browser), becomes the stack's
// peer.
//
// [Open] creates the device through github.com/songgao/water, optionally
// inside a named network namespace, and configures its kernel side (address,
// MTU, routes, up) with the ip(8) command. A [Device] is a [stack.Link]:
// [Device.Send] writes one packet to the device. [Device.Start] runs the
// device's one goroutine, the reader, which reads the packets the kernel
// sends into a single reused buffer and hands each to a delivery function,
// normally [stack.NIC.Deliver]. [Device.Close] stops the reader and closes
// the device, which removes it from the kernel: the device is never made
// persistent, so even a killed process leaves nothing behind.
//
// Creating a device needs CAP_NET_ADMIN and /dev/net/tun. Without them
// [Open] fails with [ErrNeedRoot] or [ErrNoTUN] before anything is set up.
//
// [InNetns] runs a function on an OS thread switched into a named network
// namespace. Sockets and devices created there stay in that namespace and
// can be used from any goroutine afterwards; tests use it to put kernel-side
// peers next to the device.
package tun
