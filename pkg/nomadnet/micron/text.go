package micron

import "strings"

// Text returns the page as plain text for previews and search: one line per row, link labels
// as they show, fields as [value], [x] label or (*) label, dividers as a short rule.
func (d *Doc) Text() string {
	var b strings.Builder
	for i, l := range d.Lines {
		if i > 0 {
			b.WriteByte('\n')
		}
		var row strings.Builder
		if l.Kind == KindDivider {
			row.WriteString(strings.Repeat(l.Char, 16))
		}
		for _, s := range l.Spans {
			row.WriteString(spanText(s))
		}
		b.WriteString(strings.TrimRight(row.String(), " \t"))
	}
	return strings.TrimRight(b.String(), "\n")
}

func spanText(s Span) string {
	f := s.Field
	if f == nil {
		return s.Text
	}
	switch f.Type {
	case FieldCheckbox:
		if f.Checked {
			return "[x] " + f.Label
		}
		return "[ ] " + f.Label
	case FieldRadio:
		if f.Checked {
			return "(*) " + f.Label
		}
		return "( ) " + f.Label
	}
	if f.Masked {
		return "[" + strings.Repeat("*", len([]rune(f.Value))) + "]"
	}
	return "[" + f.Value + "]"
}
