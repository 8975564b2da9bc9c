package micron

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse: Parse never panics, stays within its limits, is deterministic, and what Render
// writes parses back to the same tree.
func FuzzParse(f *testing.F) {
	pages, _ := filepath.Glob("testdata/*.mu")
	for _, p := range pages {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{"", "`", "\\", ">", "-", "<", "`=", "`[a`b`c]", "`<?|a|b|*`c>", "`FT123456x", "#!c=1", "`:a", "`t\n|x|\n`t", "`{p`1}", "`(a`b)"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		d := Parse(src)
		if len(d.Lines) > MaxLines {
			t.Fatalf("%d lines", len(d.Lines))
		}
		spans := 0
		for _, l := range d.Lines {
			if len(l.Spans) > MaxLineSpans {
				t.Fatalf("%d spans in a line", len(l.Spans))
			}
			spans += len(l.Spans)
			if l.Depth < 0 || l.Depth > MaxDepth || (l.Kind == KindHeading && (l.Level < 1 || l.Level > 3)) {
				t.Fatalf("bad line %+v", l)
			}
			for _, s := range l.Spans {
				for _, c := range []string{s.FG, s.BG} {
					if c != "" && color(c[1:]) != c {
						t.Fatalf("colour %q not normalised", c)
					}
				}
				if s.Field != nil && (s.Field.Width < 0 || s.Field.Width > MaxFieldWidth || s.Field.Rows > MaxFieldWidth) {
					t.Fatalf("field %+v", s.Field)
				}
			}
		}
		if spans > MaxSpans {
			t.Fatalf("%d spans", spans)
		}
		a, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(Parse(src))
		if string(a) != string(b) {
			t.Fatal("Parse is not deterministic")
		}
		_ = d.Text()
		checkRoundTrip(t, src)
	})
}
