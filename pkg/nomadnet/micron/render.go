package micron

import (
	"sort"
	"strconv"
	"strings"
)

// Render writes a Doc back as Micron source that Parse reads as the same Doc (less Truncated):
// every line starts from a reset style and states its alignment and styles, text is escaped,
// and section depth and anchors are set on lines of their own that show nothing.
func Render(d *Doc) []byte {
	var out []string
	if d.Header.CacheSeconds != nil {
		out = append(out, "#!c="+strconv.Itoa(*d.Header.CacheSeconds))
	}
	if c := d.Header.Background; c != "" {
		out = append(out, "#!bg="+strings.TrimPrefix(c, "#"))
	}
	if c := d.Header.Foreground; c != "" {
		out = append(out, "#!fg="+strings.TrimPrefix(c, "#"))
	}
	depth := 0
	for i, l := range d.Lines {
		if len(l.Anchors) > 0 {
			var b strings.Builder
			for _, a := range l.Anchors {
				b.WriteString("`:" + a)
			}
			out = append(out, b.String())
		}
		if l.Kind != KindHeading && l.Depth != depth {
			if l.Depth == 0 {
				out = append(out, "<``")
			} else {
				out = append(out, strings.Repeat(">", l.Depth))
			}
		}
		depth = l.Depth
		var b strings.Builder
		switch l.Kind {
		case KindHeading:
			b.WriteString(strings.Repeat(">", l.Depth))
			writeSpans(&b, l)
		case KindDivider:
			b.WriteString("-" + l.Char)
		default:
			if len(l.Spans) > 0 {
				writeSpans(&b, l)
			}
		}
		// Parse trims white space around the whole source; a comment keeps a leading empty line.
		if i == 0 && len(out) == 0 && b.Len() == 0 {
			out = append(out, "#")
		}
		out = append(out, b.String())
	}
	out = append(out, "#")
	return []byte(strings.Join(out, "\n"))
}

func writeSpans(b *strings.Builder, l Line) {
	b.WriteString("``")
	switch l.Align {
	case AlignCenter:
		b.WriteString("`c")
	case AlignRight:
		b.WriteString("`r")
	}
	var cur Span
	for _, s := range l.Spans {
		if s.Bold != cur.Bold {
			b.WriteString("`!")
		}
		if s.Italic != cur.Italic {
			b.WriteString("`*")
		}
		if s.Underline != cur.Underline {
			b.WriteString("`_")
		}
		if s.FG != cur.FG {
			b.WriteString(colorCmd('F', s.FG))
		}
		if s.BG != cur.BG {
			b.WriteString(colorCmd('B', s.BG))
		}
		cur = s
		switch {
		case s.Link != nil:
			b.WriteString("`[" + s.Text + "`" + s.Link.URL)
			if f := linkFields(s.Link); f != "" {
				b.WriteString("`" + f)
			}
			b.WriteString("]")
		case s.Field != nil:
			writeField(b, s.Field)
		default:
			// '<' is escaped too: after a command's backtick it would read as "`<", which
			// takes a line's heading status away.
			for _, r := range s.Text {
				if r == '\\' || r == '`' || r == '<' {
					b.WriteByte('\\')
				}
				b.WriteRune(r)
			}
		}
	}
}

func colorCmd(which byte, c string) string {
	if c == "" {
		return "`" + string(which+('a'-'A'))
	}
	return "`" + string(which) + "T" + strings.TrimPrefix(c, "#")
}

func linkFields(l *Link) string {
	parts := append([]string(nil), l.Fields...)
	if l.All {
		parts = append(parts, "*")
	}
	keys := make([]string, 0, len(l.Vars))
	for k := range l.Vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		parts = append(parts, k+"="+l.Vars[k])
	}
	return strings.Join(parts, "|")
}

func writeField(b *strings.Builder, f *Field) {
	b.WriteString("`<")
	switch f.Type {
	case FieldCheckbox, FieldRadio:
		flag := "?"
		if f.Type == FieldRadio {
			flag = "^"
		}
		// A value equal to the label is left out: Parse takes the label then, and a label may
		// hold a backtick that would end the field's head.
		value := f.Value
		if value == f.Label {
			value = ""
		}
		b.WriteString(flag + "|" + f.Name + "|" + value)
		if f.Checked {
			b.WriteString("|*")
		}
		b.WriteString("`" + f.Label + ">")
	default:
		if f.Masked {
			b.WriteString("!")
		}
		b.WriteString(strconv.Itoa(f.Width))
		if f.Rows != 1 {
			b.WriteString("x" + strconv.Itoa(f.Rows))
		}
		b.WriteString("|" + f.Name + "`" + f.Value + ">")
	}
}
