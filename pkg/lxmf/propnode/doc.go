// Package propnode is LXMF propagation: as a client it records propagation
// nodes from their lxmf.propagation announces (Discovery, which never opens
// links) and syncs waiting messages from the one chosen node over a link
// (Client: bounded, cancellable, with a visible state); as a server it
// hosts a propagation node (Server): it announces lxmf.propagation with
// the reference's app data, accepts uploads with valid propagation stamps
// into a Store with a size limit, and serves /get to each identified client
// for its own messages only, deleting the ones the client confirms.
//
// Uploading propagated messages is the router's job
// (router.Router.SetPropagationNode); downloaded messages are handed to the
// router (router.Router.DeliverPropagated), which checks and stores them.
//
// Behaviour follows the Python reference LXMF 1.2.1 (LXMF/LXMRouter.py:
// get_propagation_node_app_data, propagation_packet,
// propagation_resource_concluded, offer_request, message_get_request,
// request_messages_from_propagation_node, message_list_response,
// message_get_response; LXMF/LXMPeer.py for paths and error codes).
// Peering between nodes: a node answers /offer from peers that present a
// valid peering key, and offers its own new messages to static peers
// (ServerOptions.Peers, LXMPeer.sync) when its Store implements PeerStore;
// automatic peering with discovered nodes is not done.
//
// May import: pkg/lxmf, pkg/lxmf/router, pkg/rns and pkg/rns/* (transport,
// link, identity, wire, wire/msgpack) and the standard library.
package propnode
