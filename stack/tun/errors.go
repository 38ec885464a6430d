package tun

import "errors"

// Errors from [Open] that mean the device cannot be created at all. Each
// says what is missing; wrap-aware callers match them with errors.Is.
var (
	// ErrNeedRoot means the process lacks CAP_NET_ADMIN.
	ErrNeedRoot = errors.New("needs root (CAP_NET_ADMIN) to create a TUN device; run with sudo")
	// ErrNoTUN means /dev/net/tun is missing or cannot be opened.
	ErrNoTUN = errors.New("needs /dev/net/tun (load the tun module with: modprobe tun)")
	// ErrNoNetns means the named network namespace does not exist.
	ErrNoNetns = errors.New("network namespace not found (create it with: ip netns add NAME)")
	// ErrNoIP means the ip(8) command, used to configure the device, is not installed.
	ErrNoIP = errors.New("needs the ip command (install iproute2) to configure the device")
)
