// Package iface moves raw Reticulum frames over physical or virtual media.
//
// It defines the Interface contract that pkg/rns/transport drives, the
// HDLC framing used by the reference TCP interfaces
// (RNS/Interfaces/TCPInterface.py, class HDLC), a bounded streaming
// deframer, a reconnecting TCP client, a TCP server that spawns one
// sub-interface per accepted connection, a UDP interface (UDPInterface.py),
// an AutoInterface with IPv6 link-local multicast peer discovery
// (AutoInterface.py), the data side of a local shared instance, serving
// or attached (LocalInterface.py), and URI parsing for interface
// specifications such as "tcp-client://host:4242", "udp://0.0.0.0:4242?
// forward=255.255.255.255:4242", "auto://" and "shared-instance://default".
//
// Frames are opaque here: this package never parses packet headers.
//
// Imports: standard library only.
package iface
