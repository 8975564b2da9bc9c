package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"

	"github.com/reticle-mesh/reticle/pkg/buildinfo"
)

func runVersion(_ context.Context, args []string, io stdio) int {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	fs.SetOutput(io.err)
	asJSON := fs.Bool("json", false, "print as JSON")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	in := buildinfo.Get()
	if *asJSON {
		b, _ := json.Marshal(in)
		fmt.Fprintln(io.out, string(b))
		return 0
	}
	fmt.Fprintln(io.out, in.String())
	return 0
}
