// Package micron parses Micron, the markup of NomadNet pages, into a safe tree for the web UI.
//
// The tree holds text, styles, links and form fields, never HTML: the UI builds DOM nodes from it
// with textContent and element creation only. The behaviour follows the reference renderer,
// nomadnet/ui/textui/MicronParser.py (markup_to_attrmaps, parse_line, make_output) and the page
// header handling of nomadnet/ui/textui/Browser.py; where the reference would crash or do
// something unsafe, markup degrades to plain text. Input, lines, spans and section depth are
// bounded (MaxInput, MaxLines, MaxSpans, MaxDepth).
//
// Imports: standard library only.
package micron

// Limits on what Parse reads and builds. Input past a limit is dropped and Doc.Truncated is set.
const (
	// MaxInput is the largest page source read, in bytes.
	MaxInput = 1 << 20
	// MaxLines is the most lines a Doc holds.
	MaxLines = 20000
	// MaxSpans is the most spans a Doc holds, over all lines.
	MaxSpans = 100000
	// MaxLineSpans is the most spans one line holds.
	MaxLineSpans = 1000
	// MaxDepth is the deepest section nesting kept; deeper `>` runs count as MaxDepth.
	MaxDepth = 8
	// MaxFieldWidth is the widest input field, in characters (as in the reference).
	MaxFieldWidth = 256
	// DefaultFieldWidth is an input field's width when the markup gives none.
	DefaultFieldWidth = 24
)

// Line kinds.
const (
	KindText    = "text"
	KindHeading = "heading"
	KindDivider = "divider"
)

// Alignments.
const (
	AlignLeft   = "left"
	AlignCenter = "center"
	AlignRight  = "right"
)

// Field types.
const (
	FieldText     = "text"
	FieldCheckbox = "checkbox"
	FieldRadio    = "radio"
)

// Doc is a parsed page.
type Doc struct {
	Header Header `json:"header"`
	Lines  []Line `json:"lines"`
	// Truncated is set when the source was longer than a limit allows; the rest was dropped.
	Truncated bool `json:"truncated,omitempty"`
}

// Header holds what the page's `#!` header lines say.
type Header struct {
	// CacheSeconds is the `#!c=N` cache time (0 means do not cache); nil when the page gives none.
	CacheSeconds *int `json:"cache_seconds,omitempty"`
	// Background and Foreground are the page colours from `#!bg=` and `#!fg=`, as "#rrggbb".
	Background string `json:"bg,omitempty"`
	Foreground string `json:"fg,omitempty"`
}

// Line is one display row of the page.
type Line struct {
	// Kind is KindText, KindHeading or KindDivider.
	Kind string `json:"kind"`
	// Level is the heading level, 1 to 3, for KindHeading.
	Level int `json:"level,omitempty"`
	// Depth is the section depth the line sits in (0 is outside any section); the reference
	// indents a line by 2*(Depth-1) columns.
	Depth int `json:"depth"`
	// Align is AlignLeft, AlignCenter or AlignRight.
	Align string `json:"align"`
	// Char is the divider character for KindDivider.
	Char string `json:"char,omitempty"`
	// Anchors are the in-page anchor names that point at this line (`#name` links).
	Anchors []string `json:"anchors,omitempty"`
	// Spans is the line's content; an empty text line has none.
	Spans []Span `json:"spans,omitempty"`
}

// Span is a run of text with one style, or a link, or an input field.
type Span struct {
	Text      string `json:"text"`
	Bold      bool   `json:"bold,omitempty"`
	Italic    bool   `json:"italic,omitempty"`
	Underline bool   `json:"underline,omitempty"`
	// FG and BG are "#rrggbb", or empty for the page's default colour.
	FG    string `json:"fg,omitempty"`
	BG    string `json:"bg,omitempty"`
	Link  *Link  `json:"link,omitempty"`
	Field *Field `json:"field,omitempty"`
}

// Link is a `[label`url`fields] link; Span.Text is its label.
type Link struct {
	// URL is the target as written.
	URL string `json:"url"`
	// Node is the target node's destination hash (32 lowercase hex digits), or empty for the
	// node the page came from. Path is the page or file path ("/page/x.mu", "/file/y"), or
	// "#anchor" for an in-page link. Both are empty when the URL is of a kind this package does
	// not resolve (Kind "other").
	Node string `json:"node,omitempty"`
	Path string `json:"path,omitempty"`
	// Kind is "page", "file", "anchor" or "other".
	Kind string `json:"kind"`
	// Fields names the page's input fields whose values the link submits; All is set by `*`.
	Fields []string `json:"fields,omitempty"`
	All    bool     `json:"all,omitempty"`
	// Vars are `key=value` variables the link submits as they are.
	Vars map[string]string `json:"vars,omitempty"`
}

// Field is an input field; Span.Text is empty for it.
type Field struct {
	// Type is FieldText, FieldCheckbox or FieldRadio.
	Type string `json:"type"`
	Name string `json:"name"`
	// Value is the initial text of a text field, or the value a checked checkbox or radio submits.
	Value string `json:"value"`
	// Label is the text shown beside a checkbox or radio.
	Label string `json:"label,omitempty"`
	// Width (characters) and Rows are a text field's size.
	Width  int  `json:"width,omitempty"`
	Rows   int  `json:"rows,omitempty"`
	Masked bool `json:"masked,omitempty"`
	// Checked is a checkbox's or radio's initial state.
	Checked bool `json:"checked,omitempty"`
}
