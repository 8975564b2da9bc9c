// Package interop holds live interoperability tests between Reticle's
// Reticulum stack (pkg/rns) and the stock Python reference (rns 1.5.7), run
// as real processes on 127.0.0.1 with generated config directories.
//
//	pip install rns==1.5.7 lxmf==1.2.1
//	RETICLE_REQUIRE_EXTERNAL=1 go test -race -v ./test/interop
//
// The tests skip when `python3 -c 'import RNS'` fails (or with -short),
// unless RETICLE_REQUIRE_EXTERNAL=1 is set, in which case they fail.
// Steps where the reference is known to drop a packet now and then are
// retried a bounded number of times; every retry is logged with "RETRY:".
//
// rnspeer.py is a small driver that imports the reference and speaks JSON
// lines on stdin/stdout; transport nodes are the stock rnsd.
// bench_reference.py measures the reference's inbound rates for comparison
// with the transport benchmarks.
package interop
