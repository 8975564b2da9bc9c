package plugins

// A tiny WebAssembly binary writer for hostile test modules (wazero does not assemble text).

type wImport struct {
	mod, name       string
	params, results int // all i32
}

type wFunc struct {
	export          string
	params, results int
	body            []byte // instructions, without the final end
}

type wModule struct {
	imports  []wImport
	funcs    []wFunc
	memPages int // -1 = no memory
	memMax   int // 0 = none
}

func uleb(v uint64) []byte {
	var out []byte
	for {
		b := byte(v & 0x7f)
		v >>= 7
		if v != 0 {
			out = append(out, b|0x80)
			continue
		}
		return append(out, b)
	}
}

func sleb(v int64) []byte {
	var out []byte
	for {
		b := byte(v & 0x7f)
		v >>= 7
		if (v == 0 && b&0x40 == 0) || (v == -1 && b&0x40 != 0) {
			return append(out, b)
		}
		out = append(out, b|0x80)
	}
}

func wname(s string) []byte { return append(uleb(uint64(len(s))), s...) }

func section(id byte, items ...[]byte) []byte {
	var body []byte
	body = append(body, uleb(uint64(len(items)))...)
	for _, it := range items {
		body = append(body, it...)
	}
	return append(append([]byte{id}, uleb(uint64(len(body)))...), body...)
}

func functype(params, results int) []byte {
	b := []byte{0x60}
	b = append(b, uleb(uint64(params))...) //nolint:gosec // small test values
	for range params {
		b = append(b, 0x7f)
	}
	b = append(b, uleb(uint64(results))...) //nolint:gosec // small test values
	for range results {
		b = append(b, 0x7f)
	}
	return b
}

// Instructions.
func i32c(v int64) []byte { return append([]byte{0x41}, sleb(v)...) }
func call(idx int) []byte { return append([]byte{0x10}, uleb(uint64(idx))...) } //nolint:gosec // small test values

var (
	opDrop  = []byte{0x1a}
	opGrow  = []byte{0x40, 0x00}
	opLoop  = []byte{0x03, 0x40, 0x0c, 0x00, 0x0b} // loop br 0 end
	opI64c0 = []byte{0x42, 0x00}
)

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func (m wModule) bytes() []byte {
	out := []byte{0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00}
	var types, imports, funcs, exports, codes [][]byte
	for i, im := range m.imports {
		types = append(types, functype(im.params, im.results))
		imports = append(imports, cat(wname(im.mod), wname(im.name), []byte{0x00}, uleb(uint64(i))))
	}
	for i, f := range m.funcs {
		ti := len(m.imports) + i
		types = append(types, functype(f.params, f.results))
		funcs = append(funcs, uleb(uint64(ti)))
		if f.export != "" {
			exports = append(exports, cat(wname(f.export), []byte{0x00}, uleb(uint64(len(m.imports)+i))))
		}
		body := cat([]byte{0x00}, f.body, []byte{0x0b})
		codes = append(codes, cat(uleb(uint64(len(body))), body))
	}
	out = append(out, section(1, types...)...)
	if len(imports) > 0 {
		out = append(out, section(2, imports...)...)
	}
	out = append(out, section(3, funcs...)...)
	if m.memPages >= 0 {
		lim := cat([]byte{0x00}, uleb(uint64(m.memPages)))
		if m.memMax > 0 {
			lim = cat([]byte{0x01}, uleb(uint64(m.memPages)), uleb(uint64(m.memMax)))
		}
		out = append(out, section(5, lim)...)
		exports = append(exports, cat(wname("memory"), []byte{0x02, 0x00}))
	}
	out = append(out, section(7, exports...)...)
	out = append(out, section(10, codes...)...)
	return out
}

// onMessage is a module with one memory page whose on_message runs body (which must leave an i32).
func onMessage(body []byte, imports ...wImport) []byte {
	return wModule{imports: imports, memPages: 1, funcs: []wFunc{{export: EntryOnMessage, results: 1, body: body}}}.bytes()
}

func hostImport(name string) wImport {
	f, _ := findHostFunc(name)
	return wImport{mod: HostModule, name: name, params: len(f.params), results: 1}
}
