"""The drawing canvas takes a stroke wherever it begins, from the first press after the page opens.

Two things stood between a stroke and the canvas (streamlit-drawable-canvas 0.13):

- Its toolbar (save, undo, redo, edit, bin) hides with `opacity: 0` at `top: -1rem`, and slides up to
  `top: -2.65rem` only a moment (0.1 s delay + 0.1 s) after the pointer enters the canvas. At rest the invisible
  toolbar covers the canvas's top-right band (about x 100-270, y 0-30 of 280) and, being only transparent, takes
  the presses there: a stroke begun there at once after the page opens went to the toolbar and drew nothing, by
  mouse, pen and touch (a finger has no hover to move it away). The canvas draws inside an open shadow root,
  which page CSS cannot reach, and has no option for its toolbar; so the page runs a few lines of script that
  give the shadow root of every isolated Streamlit component on the page (those there, and any made later: it
  wraps `attachShadow`) one constructed stylesheet naming only the component's `dc-` classes: the toolbar rests
  where it shows, just above the canvas and never over it, and takes no pointer while hidden. (The toolbar also
  lacks the canvas's `touch-action: none`, so a finger stroke begun on it could pan the page instead.)
- The canvas's column of st.columns could be narrower than the canvas (230 of 280 px on a 1280 px window with the
  sidebar open, 145 on a 1024 px one): the component then clips it and scrolls it sideways, and the next column
  covers the rest. The column is kept at least as wide as the canvas; the row wraps when the others cannot fit.
"""
import json

import streamlit as st

TOOLBAR_CSS = """
.dc-toolbar { top: auto !important; bottom: 100%; padding-bottom: .25rem; pointer-events: none; }
.dc-root:hover > .dc-toolbar, .dc-toolbar:hover, .dc-toolbar:focus-within, .dc-toolbar[data-pinned=true] {
  pointer-events: auto; }
"""

# The stylesheet is made once per browser tab: Streamlit keeps one document across pages and reruns.
SCRIPT = """
<script data-cnn="canvas-frame">
(() => {
  if (window.cnnCanvasToolbar) return;
  const sheet = new CSSStyleSheet();
  sheet.replaceSync(%s);
  window.cnnCanvasToolbar = sheet;
  const adopt = root => { if (!root.adoptedStyleSheets.includes(sheet))
                            root.adoptedStyleSheets = [...root.adoptedStyleSheets, sheet]; return root; };
  const attach = Element.prototype.attachShadow;
  Element.prototype.attachShadow = function (init) {
    const root = attach.call(this, init);
    return this.dataset.testid === "stBidiComponentIsolated" ? adopt(root) : root;
  };
  document.querySelectorAll('[data-testid="stBidiComponentIsolated"]').forEach(host => {
    if (host.shadowRoot) adopt(host.shadowRoot); });
})();
</script>
<style>
.stElementContainer:has(script[data-cnn="canvas-frame"]) { display: none; }
[data-testid="stColumn"]:has(.st-key-%s) { min-width: min(100%%, %dpx); }
[data-testid="stHorizontalBlock"]:has(> [data-testid="stColumn"] .st-key-%s) { flex-wrap: wrap; }
</style>
"""


def frame(key, side):
    """Call once on the page, before `st_canvas(key=key, width=side, ...)`; the element it adds takes no room."""
    st.html(SCRIPT % (json.dumps(TOOLBAR_CSS.strip()), key, side, key), unsafe_allow_javascript=True)
