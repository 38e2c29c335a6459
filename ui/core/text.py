"""Visitor-supplied text (a file's name, a typed architecture, a file's contents quoted in an error) shown inside
Streamlit markdown: every character that markdown turns into a link, an image, HTML, formatting, LaTeX, a table or
a heading is escaped ([ and ] kill links, images and coloured text), and bare web and mail addresses are broken up
(an invisible word joiner), so the text shows as typed and inert. Other characters stay as they are, so ordinary
names and messages read the same in the markdown source (tests compare it)."""
import re

_SPECIAL = re.compile(r"([\\`*_\[\]<>~$&#|])")
_AUTOLINK = re.compile(r"(?i)(www\.|@)|:(//)")
JOINER = "\u2060"               # invisible: before "www." or "@" it keeps markdown from making a web or mail link


def md_escape(text, limit=300):
    """`text` (any object, made a string) as inert markdown on one line, at most `limit` characters of it."""
    text = " ".join(str(text).split())
    text = text if len(text) <= limit else text[:limit] + "…"
    text = _SPECIAL.sub(r"\\\1", text)
    return _AUTOLINK.sub(lambda m: JOINER + m[1] if m[1] else r":\/\/", text)
