// Package pkt reads packetdrill scripts (.pkt): socket calls, packets the
// test injects (<) and packets the stack under test must send (>), with
// their times, as Google's packetdrill defines the language. The parser
// is written from the language's description; no packetdrill code is
// used. Errors name file:line:col.
package pkt
