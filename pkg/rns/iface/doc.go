// Package iface moves raw Reticulum frames over physical or virtual media.
//
// It defines the Interface contract that pkg/rns/transport drives, the
// HDLC framing used by the reference TCP interfaces
// (RNS/Interfaces/TCPInterface.py, class HDLC), a bounded streaming
// deframer, a reconnecting TCP client, a TCP server that spawns one
// sub-interface per accepted connection, and URI parsing for interface
// specifications such as "tcp-client://host:4242".
//
// Frames are opaque here: this package never parses packet headers.
//
// Imports: standard library only.
package iface
