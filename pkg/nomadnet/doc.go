// Package nomadnet speaks NomadNet's page protocol: a node is a
// "nomadnetwork.node" destination on the node's identity, announced with the
// node name as app data, that answers link requests for "/page/..." with the
// Micron source of a page and for "/file/..." with a file (nomadnet/Node.py;
// the client side follows nomadnet/ui/textui/Browser.py).
//
// Client fetches pages and files from remote nodes (path request, one link
// per node reused while open, request data with field_* and var_* keys,
// responses as packets or resources, size caps, a byte-capped page cache).
// Server answers page requests for Reticle's own node from a PageSource,
// with a built-in index page. Directory remembers the nodes heard
// announcing. Micron is returned as source bytes; parsing it is elsewhere.
//
// It may import pkg/rns, pkg/rns/link and pkg/rns/wire (with the packages
// they are built from, pkg/rns/transport and pkg/rns/identity) besides the
// standard library.
package nomadnet
