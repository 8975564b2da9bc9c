//go:build wasip1

// Command page is an example Reticle plugin that serves NomadNet pages below /page/hello, counting
// visits in its kv store.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o plugin.wasm ./examples/plugins/page
//	go run ./cmd/reticle-plugin sign -key publisher.key -manifest examples/plugins/page/manifest.json \
//	    -wasm plugin.wasm -out page.zip
package main

import (
	"strconv"

	"github.com/reticle-mesh/reticle/examples/plugins/sdk"
)

func main() {}

//go:wasmexport serve_page
func servePage() int32 {
	req, ok := sdk.ReadPageRequest()
	if !ok {
		return 1
	}
	n := 0
	if v, st := sdk.KVGet("visits"); st == sdk.StatusOK {
		n, _ = strconv.Atoi(string(v))
	}
	n++
	sdk.KVSet("visits", []byte(strconv.Itoa(n)))
	name := req.Form["field_name"]
	if name == "" {
		name = "stranger"
	}
	sdk.Output([]byte(">Hello from a Reticle plugin\n\nHello, " + name + ". You asked for `!" + req.Path +
		"`!.\nThis page was served " + strconv.Itoa(n) + " times.\n"))
	return 0
}
