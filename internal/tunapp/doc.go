// Package tunapp is `stacklab tun`: a stacklab stack on a TUN or TAP
// device ([tun.Device]), with the Linux kernel as its peer, serving
// (echo, discard, http, udp-echo) or dialing (an HTTP GET, an nc-like
// pipe) through it, with the simulator's impairments applied between the
// device and the stack in real time and every frame captured and traced.
//
// [Setup] builds an [App] (device, stack, impairments, capture); its
// [App.Serve], [App.Get] and [App.Connect] run one mode each, and
// [App.Close] takes everything down again. [Run] does all of it for the
// command line, with the options of [Options].
package tunapp
