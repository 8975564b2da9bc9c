package micron

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// style is the formatting state that carries from span to span and line to line, as in the
// reference's parser state ("formatting", "fg_color", "bg_color").
type style struct {
	bold, italic, underline bool
	fg, bg                  string
}

type parser struct {
	doc      *Doc
	st       style
	align    string
	depth    int
	literal  bool
	table    bool
	tableBuf [][]rune
	pending  []string
	anchors  map[string]bool
	spans    int
	line     []Span // spans of the line being built
}

// Parse turns Micron source into a Doc. It never fails: markup it does not understand is kept
// as plain text or dropped, and input past the limits is dropped with Doc.Truncated set.
func Parse(src []byte) *Doc {
	d := &Doc{Lines: []Line{}}
	if len(src) > MaxInput {
		src = src[:MaxInput]
		d.Truncated = true
	}
	text := sanitize(string(src))
	lines := strings.Split(text, "\n")
	d.Header = parseHeader(lines)
	p := &parser{doc: d, align: AlignLeft, anchors: map[string]bool{}}
	for _, l := range lines {
		if p.full() {
			d.Truncated = true
			break
		}
		r := []rune(l)
		if len(r) == 0 {
			// An empty source line is an empty row, left aligned, even inside a table or literal block.
			p.emit(Line{Kind: KindText, Align: AlignLeft})
			continue
		}
		p.parseLine(r)
	}
	// A table left open at the end is shown as text rather than lost.
	p.flushTable()
	return d
}

// sanitize makes the source valid UTF-8, turns CR and CRLF into LF, and drops control,
// zero-width and bidi characters (the set the reference's STRIP_CONTROL_RE removes), then trims
// surrounding white space as the reference's strip_modifiers does.
func sanitize(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	s = strings.Map(func(r rune) rune {
		if stripped(r) {
			return -1
		}
		return r
	}, s)
	return strings.TrimSpace(s)
}

func stripped(r rune) bool {
	switch {
	case r <= 0x08, r == 0x0B, r == 0x0C, r >= 0x0E && r <= 0x1F, r >= 0x7F && r <= 0x9F:
		return true
	case r >= 0x200B && r <= 0x200F, r >= 0x202A && r <= 0x202E, r >= 0x2060 && r <= 0x206F:
		return true
	case r == 0xFEFF, r >= 0xFFF0 && r <= 0xFFF8:
		return true
	}
	return false
}

// parseHeader reads `#!c=` (only on the first line, as Browser.py does) and the first `#!bg=`
// and `#!fg=` lines whose colour is 3 or 6 characters long.
func parseHeader(lines []string) Header {
	var h Header
	if len(lines) > 0 && strings.HasPrefix(lines[0], "#!c=") {
		if n, err := strconv.Atoi(strings.TrimSpace(lines[0][4:])); err == nil && n >= 0 {
			h.CacheSeconds = &n
		}
	}
	bgSeen, fgSeen := false, false
	for _, l := range lines {
		if !strings.HasPrefix(l, "#!") {
			continue
		}
		if v, ok := strings.CutPrefix(l, "#!bg="); ok && !bgSeen {
			if n := utf8.RuneCountInString(v); n == 3 || n == 6 {
				bgSeen = true
				h.Background = color(v)
			}
		}
		if v, ok := strings.CutPrefix(l, "#!fg="); ok && !fgSeen {
			if n := utf8.RuneCountInString(v); n == 3 || n == 6 {
				fgSeen = true
				h.Foreground = color(v)
			}
		}
	}
	return h
}

func (p *parser) full() bool {
	return len(p.doc.Lines) >= MaxLines || p.spans >= MaxSpans
}

// emit appends a finished line and binds the anchors declared since the last line to it.
func (p *parser) emit(l Line) {
	if len(p.doc.Lines) >= MaxLines {
		p.doc.Truncated = true
		return
	}
	if l.Kind != KindHeading && l.Kind != KindDivider {
		l.Kind = KindText
	}
	l.Depth = p.depth
	for _, name := range p.pending {
		if !p.anchors[name] && len(p.anchors) < MaxLines {
			p.anchors[name] = true
			l.Anchors = append(l.Anchors, name)
		}
	}
	p.pending = p.pending[:0]
	p.doc.Lines = append(p.doc.Lines, l)
}

// parseLine follows the reference's parse_line for one non-empty source line.
func (p *parser) parseLine(line []rune) {
	if string(line) == "`=" {
		p.literal = !p.literal
		return
	}
	if p.literal {
		if string(line) == "\\`=" {
			line = []rune("`=")
		}
		p.line = nil
		p.addText(string(line))
		p.emit(Line{Kind: KindText, Align: p.align, Spans: p.takeSpans()})
		return
	}
	// `+> and `-> are collapsible headings; this tree shows them as plain headings.
	if len(line) > 2 && line[0] == '`' && (line[1] == '+' || line[1] == '-') && line[2] == '>' {
		line = line[2:]
	}
	// A heading that holds input fields loses its heading status.
	if line[0] == '>' && strings.Contains(string(line), "`<") {
		for len(line) > 0 && line[0] == '>' {
			line = line[1:]
		}
	}
	first := line[0]
	preEscape := false
	switch first {
	case '\\':
		line = line[1:]
		preEscape = true
	case '#':
		return // comments and `#!` headers
	}
	s := string(line)
	if strings.HasPrefix(s, "`t") {
		p.toggleTable()
		return
	}
	if p.table {
		if len(p.tableBuf) < MaxLines {
			p.tableBuf = append(p.tableBuf, line)
		}
		return
	}
	switch {
	case strings.HasPrefix(s, "`{"):
		p.placeholder(partialLabel(line[2:]))
		return
	case strings.HasPrefix(s, "`("):
		p.placeholder(imageLabel(line[2:]))
		return
	}
	switch first {
	case '<':
		// Back to the top level, then the rest of the line is parsed afresh.
		p.depth = 0
		for len(line) > 0 && line[0] == '<' {
			line = line[1:]
		}
		if len(line) > 0 {
			p.parseLine(line)
		}
		return
	case '>':
		p.heading(line)
		return
	case '-':
		ch := "\u2500"
		if len(line) == 2 && !unicode.IsControl(line[1]) {
			ch = string(line[1])
		}
		p.emit(Line{Kind: KindDivider, Align: AlignLeft, Char: ch})
		return
	}
	p.line = nil
	p.output(line, preEscape)
	if spans := p.takeSpans(); len(spans) > 0 {
		p.emit(Line{Kind: KindText, Align: p.align, Spans: spans})
	}
}

func (p *parser) heading(line []rune) {
	n := 0
	for n < len(line) && line[n] == '>' {
		n++
	}
	p.depth = min(n, MaxDepth)
	rest := line[n:]
	if len(rest) == 0 {
		return
	}
	// The heading starts from its own style and leaves the running style as it found it
	// (alignment is not restored, as in the reference).
	saved := p.st
	p.st = style{}
	p.line = nil
	p.output(rest, false)
	p.st = saved
	spans := p.takeSpans()
	if len(spans) == 0 {
		return
	}
	if slug := slugify(spansText(spans)); slug != "" {
		p.pending = append(p.pending, slug)
	}
	p.emit(Line{Kind: KindHeading, Level: min(n, 3), Align: p.align, Spans: spans})
}

func (p *parser) toggleTable() {
	if p.table {
		p.flushTable()
		return
	}
	p.table = true
	p.tableBuf = p.tableBuf[:0]
}

// flushTable shows a table's rows as text lines: the monospace page keeps the columns that the
// author lined up, and cell formatting still applies.
func (p *parser) flushTable() {
	if !p.table {
		return
	}
	p.table = false
	for _, row := range p.tableBuf {
		p.line = nil
		p.output(row, false)
		if spans := p.takeSpans(); len(spans) > 0 {
			p.emit(Line{Kind: KindText, Align: p.align, Spans: spans})
		}
	}
	p.tableBuf = p.tableBuf[:0]
}

// placeholder stands in for content this tree does not fetch (partials, images).
func (p *parser) placeholder(label string) {
	if label == "" {
		return
	}
	p.line = nil
	p.addSpan(Span{Text: label, Italic: true})
	p.emit(Line{Kind: KindText, Align: AlignLeft, Spans: p.takeSpans()})
}

func partialLabel(r []rune) string {
	s := string(r)
	end := strings.IndexByte(s, '}')
	if end < 0 {
		return ""
	}
	url, _, _ := strings.Cut(s[:end], "`")
	if url == "" {
		return ""
	}
	return "[partial: " + url + "]"
}

func imageLabel(r []rune) string {
	s := string(r)
	end := strings.LastIndexByte(s, ')')
	if end <= 0 {
		return ""
	}
	parts := strings.Split(s[:end], "`")
	if len(parts) < 2 {
		return ""
	}
	if alt := strings.TrimSpace(parts[0]); alt != "" {
		return "[image: " + alt + "]"
	}
	return "[image]"
}

func (p *parser) takeSpans() []Span {
	s := p.line
	p.line = nil
	return s
}

// addSpan appends a span to the current line, merging plain text into a previous span of the
// same style, within the span limits.
func (p *parser) addSpan(s Span) {
	if s.Link == nil && s.Field == nil {
		if s.Text == "" {
			return
		}
		if n := len(p.line); n > 0 {
			last := &p.line[n-1]
			if last.Link == nil && last.Field == nil && sameStyle(*last, s) {
				last.Text += s.Text
				return
			}
		}
	}
	if len(p.line) >= MaxLineSpans || p.spans >= MaxSpans {
		p.doc.Truncated = true
		return
	}
	p.spans++
	p.line = append(p.line, s)
}

func sameStyle(a, b Span) bool {
	return a.Bold == b.Bold && a.Italic == b.Italic && a.Underline == b.Underline && a.FG == b.FG && a.BG == b.BG
}

func (p *parser) styled(text string) Span {
	return Span{Text: text, Bold: p.st.bold, Italic: p.st.italic, Underline: p.st.underline, FG: p.st.fg, BG: p.st.bg}
}

func (p *parser) addText(text string) { p.addSpan(p.styled(text)) }

// output follows the reference's make_output: text with backslash escapes, and backtick
// commands that each take one character (plus their arguments).
func (p *parser) output(line []rune, preEscape bool) {
	var part []rune
	flush := func() {
		if len(part) > 0 {
			p.addText(string(part))
			part = part[:0]
		}
	}
	formatting := false
	escape := preEscape
	for i := 0; i < len(line); i++ {
		c := line[i]
		if !formatting {
			switch {
			case c == '\\' && !escape:
				escape = true
			case c == '`' && !escape:
				formatting = true
				flush()
			default:
				part = append(part, c)
				escape = false
			}
			continue
		}
		formatting = false
		i += p.command(line, i)
	}
	flush()
}

// command runs the backtick command at line[i] and returns how many further characters it used.
func (p *parser) command(line []rune, i int) int {
	switch line[i] {
	case '_':
		p.st.underline = !p.st.underline
	case '!':
		p.st.bold = !p.st.bold
	case '*':
		p.st.italic = !p.st.italic
	case 'F', 'B':
		c, skip := colorArg(line, i)
		if skip > 0 {
			if line[i] == 'F' {
				p.st.fg = c
			} else {
				p.st.bg = c
			}
		}
		return skip
	case 'f':
		p.st.fg = ""
	case 'b':
		p.st.bg = ""
	case '`':
		p.st = style{}
		p.align = AlignLeft
	case 'c':
		p.align = AlignCenter
	case 'l':
		p.align = AlignLeft
	case 'r':
		p.align = AlignRight
	case 'a':
		p.align = AlignLeft
	case ':':
		end := i + 1
		for end < len(line) && anchorRune(line[end]) {
			end++
		}
		if end > i+1 && len(p.pending) < MaxLines {
			p.pending = append(p.pending, string(line[i+1:end]))
		}
		return end - i - 1
	case '<':
		return p.field(line, i)
	case '[':
		return p.link(line, i)
	}
	return 0
}

func anchorRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsNumber(r) || r == '_' || r == '-'
}

// colorArg reads the colour after `F or `B: three characters, or T and six. It returns the
// colour ("" for one that is not valid, which shows as the default) and the characters used.
func colorArg(line []rune, i int) (string, int) {
	if len(line) < i+4 {
		return "", 0
	}
	if line[i+1] == 'T' && len(line) >= i+8 {
		return color(string(line[i+2 : i+8])), 7
	}
	return color(string(line[i+1 : i+4])), 3
}

// color normalises a Micron colour to "#rrggbb": 3 hex digits (each doubled), 6 hex digits, or
// "g" and two decimal digits for a grey level of 0-99 percent. Anything else is "".
func color(s string) string {
	hex := func(r rune) bool { return r < utf8.RuneSelf && strings.ContainsRune("0123456789abcdefABCDEF", r) }
	r := []rune(s)
	switch len(r) {
	case 6:
		for _, c := range r {
			if !hex(c) {
				return ""
			}
		}
		return "#" + strings.ToLower(s)
	case 3:
		if r[0] == 'g' {
			if r[1] < '0' || r[1] > '9' || r[2] < '0' || r[2] > '9' {
				return ""
			}
			v := (int(r[1]-'0')*10 + int(r[2]-'0')) * 255 / 100
			b := strconv.FormatInt(int64(v)+0x100, 16)[1:]
			return "#" + b + b + b
		}
		var out strings.Builder
		out.WriteByte('#')
		for _, c := range r {
			if !hex(c) {
				return ""
			}
			l := string(unicode.ToLower(c))
			out.WriteString(l + l)
		}
		return out.String()
	}
	return ""
}

// field parses `<flags|name|value|*`data> at line[i] (the '<'); see make_output's field branch.
// It returns the characters used, or 0 when the markup is not a field.
func (p *parser) field(line []rune, i int) int {
	bt := indexRune(line, '`', i+1)
	if bt < 0 {
		return 0
	}
	end := indexRune(line, '>', bt)
	if end < 0 {
		return 0
	}
	content := string(line[i+1 : bt])
	data := string(line[bt+1 : end])
	f := Field{Type: FieldText, Name: content, Width: DefaultFieldWidth, Rows: 1}
	checked := false
	value := ""
	if strings.Contains(content, "|") {
		comps := strings.Split(content, "|")
		flags := comps[0]
		f.Name = comps[1]
		switch {
		case strings.Contains(flags, "^"):
			f.Type = FieldRadio
			flags = strings.ReplaceAll(flags, "^", "")
		case strings.Contains(flags, "?"):
			f.Type = FieldCheckbox
			flags = strings.ReplaceAll(flags, "?", "")
		case strings.Contains(flags, "!"):
			f.Masked = true
			flags = strings.ReplaceAll(flags, "!", "")
		}
		if flags != "" {
			w, rows, hasRows := strings.Cut(flags, "x")
			if n, err := strconv.Atoi(strings.TrimSpace(w)); err == nil {
				f.Width = max(1, min(n, MaxFieldWidth))
			}
			if hasRows {
				if n, err := strconv.Atoi(strings.TrimSpace(rows)); err == nil {
					f.Rows = max(1, min(n, MaxFieldWidth))
				}
			}
		}
		if len(comps) > 2 {
			value = comps[2]
		}
		checked = len(comps) > 3 && comps[3] == "*"
	}
	if f.Type == FieldText {
		f.Value = data
	} else {
		f.Width, f.Rows, f.Masked = 0, 0, false
		f.Label = data
		f.Value = value
		if f.Value == "" {
			f.Value = data
		}
		f.Checked = checked
	}
	s := p.styled("")
	s.Field = &f
	p.addSpan(s)
	return end - i
}

// link parses `[label`url`fields] at line[i] (the '['). It returns the characters used; a
// link with no closing ']' uses none, and one with an empty URL is dropped.
func (p *parser) link(line []rune, i int) int {
	end := indexRune(line, ']', i)
	if end < 0 {
		return 0
	}
	comps := strings.Split(string(line[i+1:end]), "`")
	var label, url, fields string
	switch len(comps) {
	case 1:
		url = comps[0]
	case 2:
		label, url = comps[0], comps[1]
	case 3:
		label, url, fields = comps[0], comps[1], comps[2]
	}
	if url != "" {
		if label == "" {
			label = url
		}
		s := p.styled(label)
		s.Link = resolve(url, fields)
		p.addSpan(s)
	}
	return end - i
}

func indexRune(line []rune, r rune, from int) int {
	for j := from; j < len(line); j++ {
		if line[j] == r {
			return j
		}
	}
	return -1
}

// DefaultPath is the page a link to a bare node address opens (Browser.DEFAULT_PATH).
const DefaultPath = "/page/index.mu"

// resolve splits a link URL into node and path the way Browser.parse_url does ("<32 hex>",
// "<32 hex>:/path", ":/path"), and also takes a bare "/path" as the same node; in-page
// "#anchor" links are kept as such. Other URLs (lxmf@..., partials, malformed) are Kind "other".
func resolve(url, fields string) *Link {
	l := &Link{URL: url, Kind: "other"}
	if fields != "" {
		for _, e := range strings.Split(fields, "|") {
			if strings.Contains(e, "=") {
				if k, v, _ := strings.Cut(e, "="); !strings.Contains(v, "=") {
					if l.Vars == nil {
						l.Vars = map[string]string{}
					}
					l.Vars[k] = v
				}
				continue
			}
			switch e {
			case "":
			case "*":
				l.All = true
			default:
				l.Fields = append(l.Fields, e)
			}
		}
	}
	if strings.HasPrefix(url, "#") {
		l.Kind, l.Path = "anchor", url
		return l
	}
	if strings.Contains(url, "@") {
		return l
	}
	node, path := url, ""
	if strings.HasPrefix(url, "/") {
		node, path = "", url
	} else if n, rest, ok := strings.Cut(url, ":"); ok {
		node, path = n, rest
		if strings.Contains(rest, ":") {
			return l
		}
	} else if !isHash(url) {
		return l
	}
	if node != "" && !isHash(node) {
		return l
	}
	if path == "" {
		path = DefaultPath
	}
	if !strings.HasPrefix(path, "/") {
		return l
	}
	l.Node, l.Path = strings.ToLower(node), path
	l.Kind = "page"
	if strings.HasPrefix(path, "/file/") {
		l.Kind = "file"
	}
	return l
}

func isHash(s string) bool {
	if len(s) != 32 {
		return false
	}
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return false
		}
	}
	return true
}

// slugify names a heading's anchor: lower case, runs of anything but ASCII letters and digits
// become one '-', no '-' at either end (slugify_micron in the reference, applied to the
// heading's shown text).
func slugify(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range s {
		if r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			dash = false
			b.WriteRune(unicode.ToLower(r))
			continue
		}
		dash = true
	}
	return b.String()
}

func spansText(spans []Span) string {
	var b strings.Builder
	for _, s := range spans {
		b.WriteString(s.Text)
	}
	return b.String()
}
