// Package tsharktest checks capture files with Wireshark's tshark in
// tests: [Lint] fails the test on malformed packets and bad checksums and
// returns what tshark decoded for each packet, so a test can check the
// handshake is SYN, SYN-ACK, ACK or that tshark marks as retransmissions
// exactly the segments the stack retransmitted.
//
// When tshark is not installed, [Lint] skips the test with a message
// saying how to install it.
package tsharktest
