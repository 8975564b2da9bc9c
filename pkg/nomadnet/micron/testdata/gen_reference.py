# Regenerates testdata/*.ref.json: runs the reference Micron renderer (nomadnet's
# MicronParser.markup_to_attrmaps, dark theme, 256 colours) on a page and prints each row's text,
# alignment and style runs as JSON. Needs a virtualenv with nomadnet (pip install nomadnet):
#   for f in testdata/*.mu; do VENV/bin/python testdata/gen_reference.py $f > ${f%.mu}.ref.json; done

import sys, types, json
import urwid
import nomadnet
from nomadnet.util import strip_modifiers

class Screen:
    def __init__(self): self._palette = {}
    def register_palette_entry(self, name, *a):
        self._palette[name] = [urwid.AttrSpec('default','default')]*5
class UI:
    colormode = 256
    glyphs = {}
    screen = Screen()
    loop = None
class App:
    config = {"textui": {"theme": nomadnet.ui.TextUI.THEME_DARK}}
    ui = UI()
nomadnet.NomadNetworkApp.get_shared_instance = staticmethod(lambda: App())
from nomadnet.ui.textui import MicronParser as MP

class Delegate:
    last_keypress = 0
    def marked_link(self, *a): pass
    g = {"warning": "!", "image": "i"}
    def resolve_image(self, url): return None

def text_of(w):
    if isinstance(w, urwid.AttrMap): return text_of(w.original_widget)
    if isinstance(w, urwid.Padding): return text_of(w.original_widget)
    if isinstance(w, urwid.Divider): return "DIV:" + w.div_char
    if isinstance(w, urwid.Columns): return "".join(text_of(c[0]) for c in w.contents)
    if isinstance(w, urwid.CheckBox): return "[" + w.get_label() + "]"
    if isinstance(w, urwid.Edit): return "{" + w.edit_text + "}"
    if isinstance(w, urwid.Text):
        t = w.get_text()[0]
        return t
    if isinstance(w, urwid.Pile): return "PILE"
    return "?" + type(w).__name__

src = open(sys.argv[1], encoding="utf-8").read()
import RNS
RNS.loglevel = -1
rows = MP.markup_to_attrmaps(strip_modifiers(src), url_delegate=Delegate())
out = []
for r in rows:
    w = r.original_widget
    while isinstance(w, (urwid.AttrMap, urwid.Padding)): w = w.original_widget
    align = getattr(w, "align", None)
    row = {"text": text_of(r), "align": align if isinstance(align, str) else "left"}
    if isinstance(w, urwid.Text) and not isinstance(w, urwid.Edit):
        t, attrs = w.get_text()
        segs, pos = [], 0
        for name, length in attrs:
            seg = t[pos:pos+length]; pos += length
            if isinstance(name, str) and name.startswith("micron_"):
                fg, bg, fmt = name[len("micron_"):].split("_", 2)
            elif hasattr(name, "foreground"):
                fg, bg, fmt = "link", "link", ""
            else:
                fg, bg, fmt = "?", "?", ""
            segs.append([seg, fg, bg, fmt])
        if pos < len(t): segs.append([t[pos:], "", "", ""])
        row["segments"] = segs
    out.append(row)
print(json.dumps(out, indent=1, ensure_ascii=False))
