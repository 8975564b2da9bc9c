package micron

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// refRow is one row as the reference renderer (nomadnet MicronParser.markup_to_attrmaps, run on
// the page under testdata with urwid) drew it: the row's text and alignment. Text fields show as
// {value}, checkboxes and radios as [label], dividers as DIV:<char>, and headings carry the
// reference's indent of 2*(depth-1) spaces.
type refRow struct {
	Text  string `json:"text"`
	Align string `json:"align"`
	// Segments are a text row's runs as [text, fg, bg, formats] with the reference's raw colours
	// ("ddd", "default", "f0a") and formats (",bold,underline,italics"); a link's run has "link"
	// colours and an indent's run "?".
	Segments [][]string `json:"segments,omitempty"`
}

// TestAgainstReference compares every row of each page with what the reference drew from it.
func TestAgainstReference(t *testing.T) {
	refs, _ := filepath.Glob("testdata/*.ref.json")
	if len(refs) == 0 {
		t.Fatal("no reference vectors")
	}
	for _, ref := range refs {
		t.Run(filepath.Base(ref), func(t *testing.T) {
			b, err := os.ReadFile(ref)
			if err != nil {
				t.Fatal(err)
			}
			var want []refRow
			if err := json.Unmarshal(b, &want); err != nil {
				t.Fatal(err)
			}
			src, err := os.ReadFile(strings.TrimSuffix(ref, ".ref.json") + ".mu")
			if err != nil {
				t.Fatal(err)
			}
			d := Parse(src)
			got := refRows(d)
			if len(got) != len(want) {
				t.Errorf("%d rows, reference has %d", len(got), len(want))
			}
			for i := range min(len(got), len(want)) {
				// Images and partials are fetched content this tree shows as a placeholder.
				if ph, ok := placeholders[want[i].Text]; ok {
					if !strings.HasPrefix(got[i].Text, ph) {
						t.Errorf("row %d = %+v, want a %s placeholder", i, got[i], ph)
					}
					continue
				}
				if got[i].Text != want[i].Text || got[i].Align != want[i].Align {
					t.Errorf("row %d = %+v, reference %+v", i, got[i], want[i])
				}
				if want[i].Segments != nil {
					g, w := styleRuns(d, d.Lines[i]), refStyleRuns(d, d.Lines[i], want[i].Segments)
					if g != w {
						t.Errorf("row %d styles\n got %s\nwant %s", i, g, w)
					}
				}
			}
		})
	}
}

var placeholders = map[string]string{"?ImageWidget": "[image", "PILE": "[partial"}

func refRows(d *Doc) []refRow {
	var out []refRow
	for _, l := range d.Lines {
		var b strings.Builder
		switch l.Kind {
		case KindDivider:
			b.WriteString("DIV:" + l.Char)
		case KindHeading:
			b.WriteString(strings.Repeat(" ", 2*(l.Depth-1)))
		}
		for _, s := range l.Spans {
			switch {
			case s.Field == nil:
				b.WriteString(s.Text)
			case s.Field.Type == FieldText:
				b.WriteString("{" + s.Field.Value + "}")
			default:
				b.WriteString("[" + s.Field.Label + "]")
			}
		}
		out = append(out, refRow{Text: b.String(), Align: l.Align})
	}
	return out
}

// Heading colours of the reference's dark theme (STYLES_DARK heading1-3).
var headingColours = map[int][2]string{1: {"222", "bbb"}, 2: {"111", "999"}, 3: {"000", "777"}}

// styleRuns writes a line's styles one character at a time ("b", "i", "u", fg, bg), with a link's
// characters as "L" and the page's default colours as empty.
func styleRuns(d *Doc, l Line) string {
	fgDef, bgDef := d.Header.Foreground, d.Header.Background
	if fgDef == "" {
		fgDef = "#dddddd"
	}
	var b strings.Builder
	for _, s := range l.Spans {
		if s.Field != nil {
			continue
		}
		key := "L"
		if s.Link == nil {
			fg, bg := s.FG, s.BG
			if fg == fgDef {
				fg = ""
			}
			if bg == bgDef {
				bg = ""
			}
			key = styleKey(s.Bold, s.Italic, s.Underline, fg, bg)
		}
		for range s.Text {
			b.WriteString(key + ";")
		}
	}
	return b.String()
}

func refStyleRuns(d *Doc, l Line, segs [][]string) string {
	fgDef, bgDef := d.Header.Foreground, d.Header.Background
	if fgDef == "" {
		fgDef = "#dddddd"
	}
	var b strings.Builder
	for _, seg := range segs {
		text, fgRaw, bgRaw, formats := seg[0], seg[1], seg[2], seg[3]
		if fgRaw == "?" {
			continue
		}
		key := "L"
		if fgRaw != "link" {
			fg, bg := color(fgRaw), color(bgRaw)
			if hc, ok := headingColours[l.Level]; ok && l.Kind == KindHeading {
				if fgRaw == hc[0] {
					fg = ""
				}
				if bgRaw == hc[1] {
					bg = ""
				}
			}
			if fg == fgDef {
				fg = ""
			}
			if bg == bgDef {
				bg = ""
			}
			key = styleKey(strings.Contains(formats, "bold"), strings.Contains(formats, "italics"), strings.Contains(formats, "underline"), fg, bg)
		}
		for range text {
			b.WriteString(key + ";")
		}
	}
	return b.String()
}

func styleKey(bold, italic, underline bool, fg, bg string) string {
	k := ""
	if bold {
		k += "b"
	}
	if italic {
		k += "i"
	}
	if underline {
		k += "u"
	}
	return k + fg + "/" + bg
}
