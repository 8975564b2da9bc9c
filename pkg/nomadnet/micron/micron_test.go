package micron

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden .json files in testdata")

// TestPages parses realistic pages (the reference's default index page among them) and compares
// the tree with the reviewed golden JSON beside each page.
func TestPages(t *testing.T) {
	pages, err := filepath.Glob("testdata/*.mu")
	if err != nil || len(pages) == 0 {
		t.Fatalf("no pages: %v", err)
	}
	for _, page := range pages {
		t.Run(filepath.Base(page), func(t *testing.T) {
			src, err := os.ReadFile(page)
			if err != nil {
				t.Fatal(err)
			}
			got, err := json.MarshalIndent(Parse(src), "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden := strings.TrimSuffix(page, ".mu") + ".json"
			if *update {
				if err := os.WriteFile(golden, append(got, '\n'), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(bytes.TrimSpace(want), got) {
				t.Errorf("tree differs from %s (run with -update after checking)\n%s", golden, got)
			}
			checkRoundTrip(t, src)
		})
	}
}

func TestDefaultIndex(t *testing.T) {
	src, err := os.ReadFile("testdata/default_index.mu")
	if err != nil {
		t.Fatal(err)
	}
	d := Parse(src)
	if len(d.Lines) != 5 {
		t.Fatalf("lines = %d, want 5: %+v", len(d.Lines), d.Lines)
	}
	h := d.Lines[0]
	if h.Kind != KindHeading || h.Level != 1 || h.Depth != 1 || spansText(h.Spans) != "Default Home Page" {
		t.Errorf("heading = %+v", h)
	}
	if want := []string{"default-home-page"}; !reflect.DeepEqual(h.Anchors, want) {
		t.Errorf("anchors = %v, want %v", h.Anchors, want)
	}
	last := d.Lines[4].Spans
	if len(last) != 3 || last[1].Text != "index.mu" || !last[1].Italic || last[0].Italic || last[2].Italic {
		t.Errorf("italic span not split out: %+v", last)
	}
	want := "Default Home Page\n\nThis node is serving pages, but the home page file (index.mu) was not found in the page storage directory. This is an auto-generated placeholder.\n\nIf you are the node operator, you can define your own home page by creating a file named index.mu in the page storage directory."
	if got := d.Text(); got != want {
		t.Errorf("Text() =\n%q\nwant\n%q", got, want)
	}
}

func line(t *testing.T, src string) Line {
	t.Helper()
	d := Parse([]byte(src))
	if len(d.Lines) != 1 {
		t.Fatalf("%q: %d lines, want 1: %+v", src, len(d.Lines), d.Lines)
	}
	return d.Lines[0]
}

func TestStyles(t *testing.T) {
	cases := []struct {
		name, src string
		want      []Span
	}{
		{"bold", "a`!b`!c", []Span{{Text: "a"}, {Text: "b", Bold: true}, {Text: "c"}}},
		{"italic underline", "`*`_x", []Span{{Text: "x", Italic: true, Underline: true}}},
		{"fg 3 hex", "`Ff80x`fy", []Span{{Text: "x", FG: "#ff8800"}, {Text: "y"}}},
		{"fg 6 hex", "`FTA0B1C2x", []Span{{Text: "x", FG: "#a0b1c2"}}},
		{"bg and reset", "`B222`!x`` y", []Span{{Text: "x", Bold: true, BG: "#222222"}, {Text: " y"}}},
		{"bg reset only", "`B222x`by", []Span{{Text: "x", BG: "#222222"}, {Text: "y"}}},
		{"grey", "`Fg50x", []Span{{Text: "x", FG: "#7f7f7f"}}},
		{"bad colour is default", "`Fzzzx", []Span{{Text: "x"}}},
		{"colour too short", "`Ff", []Span{{Text: "f"}}},
		{"toggle twice merges", "a`!`!b", []Span{{Text: "ab"}}},
		{"unknown command eaten", "a`qb", []Span{{Text: "ab"}}},
		{"escapes", `a\` + "`" + `b\\c\d`, []Span{{Text: "a`b\\cd"}}},
		{"trailing backtick", "ab`", []Span{{Text: "ab"}}},
		{"html stays text", "x <script>alert(1)</script>", []Span{{Text: "x <script>alert(1)</script>"}}},
		{"leading < resets the section", "<b>", []Span{{Text: "b>"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := Parse([]byte(c.src))
			var got []Span
			if len(d.Lines) > 0 {
				got = d.Lines[0].Spans
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("Parse(%q) spans = %+v, want %+v", c.src, got, c.want)
			}
		})
	}
}

func TestStyleCarriesAcrossLines(t *testing.T) {
	d := Parse([]byte("`!`Ff00bold red\nstill\n>Head\nafter heading``\nplain"))
	want := []Span{{Text: "still", Bold: true, FG: "#ff0000"}}
	if !reflect.DeepEqual(d.Lines[1].Spans, want) {
		t.Errorf("line 2 = %+v", d.Lines[1].Spans)
	}
	if s := d.Lines[2].Spans[0]; s.Bold || s.FG != "" {
		t.Errorf("heading takes the running style: %+v", s)
	}
	if s := d.Lines[3].Spans[0]; !s.Bold || s.FG != "#ff0000" {
		t.Errorf("style not restored after heading: %+v", s)
	}
	if s := d.Lines[4].Spans[0]; s.Bold || s.FG != "" {
		t.Errorf("`` did not reset: %+v", s)
	}
}

func TestLineKinds(t *testing.T) {
	cases := []struct {
		name, src string
		want      Line
	}{
		{"heading 2", ">>Two", Line{Kind: KindHeading, Level: 2, Depth: 2, Align: AlignLeft, Anchors: []string{"two"}, Spans: []Span{{Text: "Two"}}}},
		{"heading capped at 3", ">>>>>Five", Line{Kind: KindHeading, Level: 3, Depth: 5, Align: AlignLeft, Anchors: []string{"five"}, Spans: []Span{{Text: "Five"}}}},
		{"depth capped", strings.Repeat(">", 50) + "x", Line{Kind: KindHeading, Level: 3, Depth: MaxDepth, Align: AlignLeft, Anchors: []string{"x"}, Spans: []Span{{Text: "x"}}}},
		{"divider default", "-", Line{Kind: KindDivider, Align: AlignLeft, Char: "\u2500"}},
		{"divider char", "-=", Line{Kind: KindDivider, Align: AlignLeft, Char: "="}},
		{"divider long line", "- item", Line{Kind: KindDivider, Align: AlignLeft, Char: "\u2500"}},
		{"centered", "`cmiddle", Line{Kind: KindText, Align: AlignCenter, Spans: []Span{{Text: "middle"}}}},
		{"right then reset", "`rx`a", Line{Kind: KindText, Align: AlignLeft, Spans: []Span{{Text: "x"}}}},
		{"escaped heading", `\>not a heading`, Line{Kind: KindText, Align: AlignLeft, Spans: []Span{{Text: ">not a heading"}}}},
		{"escaped comment", `\#shown`, Line{Kind: KindText, Align: AlignLeft, Spans: []Span{{Text: "#shown"}}}},
		{"heading with field is text", ">Name `<n`v>", Line{Kind: KindText, Align: AlignLeft, Spans: []Span{{Text: "Name "}, {Field: &Field{Type: FieldText, Name: "n", Value: "v", Width: 24, Rows: 1}}}}},
		{"collapsible heading", "`->Fold", Line{Kind: KindHeading, Level: 1, Depth: 1, Align: AlignLeft, Anchors: []string{"fold"}, Spans: []Span{{Text: "Fold"}}}},
		{"image placeholder", "`(Map`/file/map.png)", Line{Kind: KindText, Align: AlignLeft, Spans: []Span{{Text: "[image: Map]", Italic: true}}}},
		{"anchor", "`:here text", Line{Kind: KindText, Align: AlignLeft, Anchors: []string{"here"}, Spans: []Span{{Text: " text"}}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := line(t, c.src)
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("Parse(%q) =\n%+v\nwant\n%+v", c.src, got, c.want)
			}
		})
	}
}

func TestCommentsLiteralsAndSections(t *testing.T) {
	src := "# a comment\n>Sec\nin\n`=\n>raw `!text\n\\`=\n`=\n<\nout"
	d := Parse([]byte(src))
	var got []string
	for _, l := range d.Lines {
		got = append(got, l.Kind+":"+spansText(l.Spans)+":"+strconv.Itoa(l.Depth))
	}
	want := []string{"heading:Sec:1", "text:in:1", "text:>raw `!text:1", "text:`=:1", "text:out:0"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

func TestHeader(t *testing.T) {
	d := Parse([]byte("#!c=0\n#!bg=123\n#!fg=ABCDEF\n#!bg=999\nhi"))
	if d.Header.CacheSeconds == nil || *d.Header.CacheSeconds != 0 {
		t.Errorf("cache = %v", d.Header.CacheSeconds)
	}
	if d.Header.Background != "#112233" || d.Header.Foreground != "#abcdef" {
		t.Errorf("header = %+v", d.Header)
	}
	if d := Parse([]byte("hi\n#!c=60")); d.Header.CacheSeconds != nil {
		t.Errorf("#!c= counts only on the first line")
	}
	if d := Parse([]byte("#!c=soon\n#!bg=12345")); d.Header.CacheSeconds != nil || d.Header.Background != "" {
		t.Errorf("bad header values kept: %+v", d.Header)
	}
}

func TestLinks(t *testing.T) {
	const node = "a8d24177d946de4f1f0a0fe1af9a1338"
	cases := []struct {
		name, src string
		label     string
		want      Link
	}{
		{"other node", "`[Aleph`" + node + ":/page/index.mu]", "Aleph", Link{URL: node + ":/page/index.mu", Node: node, Path: "/page/index.mu", Kind: "page"}},
		{"no label", "`[" + node + ":/page/a.mu]", node + ":/page/a.mu", Link{URL: node + ":/page/a.mu", Node: node, Path: "/page/a.mu", Kind: "page"}},
		{"bare node", "`[n`" + strings.ToUpper(node) + "]", "n", Link{URL: strings.ToUpper(node), Node: node, Path: DefaultPath, Kind: "page"}},
		{"same node", "`[x`:/page/b.mu]", "x", Link{URL: ":/page/b.mu", Path: "/page/b.mu", Kind: "page"}},
		{"same node empty path", "`[x`:]", "x", Link{URL: ":", Path: DefaultPath, Kind: "page"}},
		{"bare path", "`[x`/page/c.mu]", "x", Link{URL: "/page/c.mu", Path: "/page/c.mu", Kind: "page"}},
		{"file", "`[f`:/file/a.zip]", "f", Link{URL: ":/file/a.zip", Path: "/file/a.zip", Kind: "file"}},
		{"anchor", "`[top`#top]", "top", Link{URL: "#top", Path: "#top", Kind: "anchor"}},
		{"lxmf", "`[m`lxmf@" + node + "]", "m", Link{URL: "lxmf@" + node, Kind: "other"}},
		{"bad node", "`[x`abc:/page/a.mu]", "x", Link{URL: "abc:/page/a.mu", Kind: "other"}},
		{"javascript", "`[x`javascript:alert(1)]", "x", Link{URL: "javascript:alert(1)", Kind: "other"}},
		{"fields", "`[Go`:/page/s.mu`q|*|user=bob|a=b=c||sort]", "Go", Link{URL: ":/page/s.mu", Path: "/page/s.mu", Kind: "page", Fields: []string{"q", "sort"}, All: true, Vars: map[string]string{"user": "bob"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := line(t, c.src)
			if len(l.Spans) != 1 || l.Spans[0].Link == nil {
				t.Fatalf("spans = %+v", l.Spans)
			}
			if l.Spans[0].Text != c.label {
				t.Errorf("label = %q, want %q", l.Spans[0].Text, c.label)
			}
			if !reflect.DeepEqual(*l.Spans[0].Link, c.want) {
				t.Errorf("link = %+v, want %+v", *l.Spans[0].Link, c.want)
			}
		})
	}
	if d := Parse([]byte("a `[unclosed`:/x")); spansText(d.Lines[0].Spans) != "a unclosed/x" {
		t.Errorf("unclosed link = %+v", d.Lines[0].Spans)
	}
	if d := Parse([]byte("a `[label`]b")); spansText(d.Lines[0].Spans) != "a b" {
		t.Errorf("empty url = %+v", d.Lines[0].Spans)
	}
}

func TestFields(t *testing.T) {
	cases := []struct {
		name, src string
		want      Field
	}{
		{"plain", "`<user`bob>", Field{Type: FieldText, Name: "user", Value: "bob", Width: 24, Rows: 1}},
		{"width", "`<12|user`>", Field{Type: FieldText, Name: "user", Width: 12, Rows: 1}},
		{"width capped", "`<9999|user`>", Field{Type: FieldText, Name: "user", Width: 256, Rows: 1}},
		{"rows", "`<30x4|msg`hi>", Field{Type: FieldText, Name: "msg", Value: "hi", Width: 30, Rows: 4}},
		{"masked", "`<!8|pw`>", Field{Type: FieldText, Name: "pw", Width: 8, Rows: 1, Masked: true}},
		{"masked default width", "`<!|pw`>", Field{Type: FieldText, Name: "pw", Width: 24, Rows: 1, Masked: true}},
		{"bad width", "`<ab|n`>", Field{Type: FieldText, Name: "n", Width: 24, Rows: 1}},
		{"checkbox", "`<?|opt|yes|*`Yes please>", Field{Type: FieldCheckbox, Name: "opt", Value: "yes", Label: "Yes please", Checked: true}},
		{"checkbox value is label", "`<?|opt`Label>", Field{Type: FieldCheckbox, Name: "opt", Value: "Label", Label: "Label"}},
		{"radio", "`<^|size|l`Large>", Field{Type: FieldRadio, Name: "size", Value: "l", Label: "Large"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := line(t, c.src)
			if len(l.Spans) != 1 || l.Spans[0].Field == nil {
				t.Fatalf("spans = %+v", l.Spans)
			}
			if !reflect.DeepEqual(*l.Spans[0].Field, c.want) {
				t.Errorf("field = %+v, want %+v", *l.Spans[0].Field, c.want)
			}
		})
	}
	if d := Parse([]byte("`<name no backtick>")); spansText(d.Lines[0].Spans) != "name no backtick>" {
		t.Errorf("malformed field = %+v", d.Lines[0].Spans)
	}
}

func TestSanitize(t *testing.T) {
	d := Parse([]byte("a\x00b\x1b[31m\u202Ec\r\nd\rE\xff"))
	if got := d.Text(); got != "ab[31mc\nd\nE\uFFFD" {
		t.Errorf("Text() = %q", got)
	}
}

func TestLimits(t *testing.T) {
	t.Run("input", func(t *testing.T) {
		d := Parse(bytes.Repeat([]byte("x"), MaxInput+10))
		if !d.Truncated || len(d.Lines) != 1 || len(d.Lines[0].Spans[0].Text) != MaxInput {
			t.Errorf("truncated=%v lines=%d", d.Truncated, len(d.Lines))
		}
	})
	t.Run("lines", func(t *testing.T) {
		d := Parse(bytes.Repeat([]byte("x\n"), MaxLines+100))
		if !d.Truncated || len(d.Lines) != MaxLines {
			t.Errorf("truncated=%v lines=%d", d.Truncated, len(d.Lines))
		}
	})
	t.Run("line spans", func(t *testing.T) {
		d := Parse(bytes.Repeat([]byte("a`!"), MaxLineSpans+100))
		if !d.Truncated || len(d.Lines[0].Spans) != MaxLineSpans {
			t.Errorf("truncated=%v spans=%d", d.Truncated, len(d.Lines[0].Spans))
		}
	})
	t.Run("doc spans", func(t *testing.T) {
		d := Parse(bytes.Repeat([]byte(strings.Repeat("a`!", 500)+"\n"), MaxSpans/500+10))
		n := 0
		for _, l := range d.Lines {
			n += len(l.Spans)
		}
		if !d.Truncated || n > MaxSpans {
			t.Errorf("truncated=%v spans=%d", d.Truncated, n)
		}
	})
	t.Run("section reset run", func(t *testing.T) {
		d := Parse([]byte(strings.Repeat("<", MaxInput/2) + "x"))
		if len(d.Lines) != 1 || d.Lines[0].Spans[0].Text != "x" {
			t.Errorf("lines = %+v", d.Lines)
		}
	})
}

func TestRenderRoundTrip(t *testing.T) {
	for _, src := range []string{
		"",
		"#!c=0\n\nfirst line empty",
		"ends with spaces   ",
		"`!bold\n\n>>Deep\n\n<\n`cplain `[l`:/p.mu`a|*|k=v] `<?|c|v|*`lab> `<!5x2|p`>",
		"-\n>A\n-x\n<\n-\n`:a`:b\n\n`:c\n-",
		">`:x Heading\n>Heading\n`[a`#heading]",
		"`t\n| a | b |\n`t",
		"`=\n`!raw\\\n`=",
	} {
		checkRoundTrip(t, []byte(src))
	}
}

// checkRoundTrip asserts that Render writes source Parse reads back as the same tree.
func checkRoundTrip(t *testing.T, src []byte) {
	t.Helper()
	d := Parse(src)
	if d.Truncated {
		return
	}
	out := Render(d)
	if len(out) > MaxInput {
		return
	}
	d2 := Parse(out)
	if !reflect.DeepEqual(d.Lines, d2.Lines) || !reflect.DeepEqual(d.Header, d2.Header) {
		a, _ := json.Marshal(d)
		b, _ := json.Marshal(d2)
		t.Errorf("Parse(Render(Parse(src))) differs\nsrc: %q\nrender: %q\nfirst:  %s\nsecond: %s", src, out, a, b)
	}
}

func BenchmarkParse(b *testing.B) {
	src, err := os.ReadFile("testdata/market.mu")
	if err != nil {
		b.Fatal(err)
	}
	big := bytes.Repeat(append(src, '\n'), MaxInput/len(src)-1)
	for _, c := range []struct {
		name string
		src  []byte
	}{{"page", src}, {"1MiB", big}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.src)))
			b.ReportAllocs()
			for b.Loop() {
				Parse(c.src)
			}
		})
	}
}
