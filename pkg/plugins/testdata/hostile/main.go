//go:build wasip1

// Command hostile is a test plugin that misbehaves on request: the content of the message it gets
// says how.
package main

import (
	"strconv"

	"github.com/reticle-mesh/reticle/examples/plugins/sdk"
)

func main() {}

var sink [][]byte

//go:wasmexport on_message
func onMessage() int32 {
	m, ok := sdk.ReadMessage()
	if !ok {
		return 1
	}
	switch m.Content {
	case "echo":
		return sdk.Send(m.Source, "echo: "+m.Title)
	case "panic":
		panic("hostile plugin panics")
	case "loop":
		for {
			sink = nil
		}
	case "alloc":
		for {
			sink = append(sink, make([]byte, 1<<20))
		}
	case "flood":
		ok, limited := 0, 0
		for range 100 {
			switch sdk.Send(m.Source, "flood") {
			case sdk.StatusOK:
				ok++
			case sdk.StatusRateLimited:
				limited++
			}
		}
		sdk.Output([]byte(strconv.Itoa(ok) + " " + strconv.Itoa(limited)))
	case "kv":
		val := make([]byte, 1000)
		for i := range 1000 {
			if st := sdk.KVSet("k"+strconv.Itoa(i), val); st != sdk.StatusOK {
				sdk.Output([]byte(strconv.Itoa(i) + " " + strconv.Itoa(int(st))))
				return 0
			}
		}
		sdk.Output([]byte("no quota"))
	case "big":
		sdk.Output(make([]byte, 1<<20))
	case "ok":
		sdk.Log(sdk.Info, "fine")
		sdk.Output([]byte("ok"))
	}
	return 0
}
