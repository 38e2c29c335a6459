"""Page-wide CSS, one place: what the theme cannot set (WCAG AA contrast for captions; the canvas column's
room is ui/panels/draw/canvas_frame.py's). Drawn once per run by app.py; a <style> alone in st.html takes no
space on the page."""
import streamlit as st

# Streamlit's captions and hints are its text colour at 60% opacity: #828180-ish on white, 3.9:1, below the
# 4.5:1 WCAG AA asks for small text. 80% of the same colour (about 6:1) keeps them lighter than body text, and
# being relative to the text colour, it stays right in the dark theme too.
CSS = """<style>
[data-testid="stImageCaption"] {color: inherit !important}
[data-testid="stCaptionContainer"], [data-testid="stMetricDelta"] {color: inherit !important; opacity: 0.8}
</style>"""


def render():
    st.html(CSS)
