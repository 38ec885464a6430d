// Package pcapng writes pcapng capture files for stacklab's taps.
//
// The section header and interface description blocks are written by
// [github.com/gopacket/gopacket/pcapgo]'s NgWriter, which fixes the
// timestamp resolution at nanoseconds (if_tsresol 9). Enhanced packet
// blocks and name resolution blocks are written by this package, because
// pcapgo's packet options (a slice of interface values built per packet)
// allocate on every packet, and pcapgo writes no name resolution blocks.
// An enhanced packet block is assembled in place in the Writer's 64 KiB
// buffer, so its data is copied once; [Writer.Begin] and [Writer.Commit]
// split that in two, so that a caller can read the buffered copy (to
// trace it) before it decides the comments. Writing an enhanced packet
// block allocates nothing.
//
// The block layouts follow draft-ietf-opsawg-pcapng (the pcapng
// specification): §4.1 section header, §4.2 interface description, §4.3
// enhanced packet, §4.5 name resolution.
//
// A Writer is not safe for concurrent use; the capture Recorder holds its
// lock while writing.
package pcapng
