//go:build wasip1

// Command echo is an example Reticle plugin: it answers every message with its own content.
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o plugin.wasm ./examples/plugins/echo
//	go run ./cmd/reticle-plugin sign -key publisher.key -manifest examples/plugins/echo/manifest.json \
//	    -wasm plugin.wasm -out echo.zip
package main

import "github.com/reticle-mesh/reticle/examples/plugins/sdk"

func main() {}

//go:wasmexport on_message
func onMessage() int32 {
	m, ok := sdk.ReadMessage()
	if !ok {
		return 1
	}
	sdk.Log(sdk.Info, "echoing a message")
	if st := sdk.Send(m.Source, "echo: "+m.Content); st != sdk.StatusOK {
		sdk.Log(sdk.Warn, "send refused")
	}
	return 0
}
