"""Draw without a pointer: the canvas needs a mouse, a pen or a finger, so the Draw page also takes a digit
chosen with the keyboard alone: one of the 2,000 MNIST test images committed with the app (no download), or one
of the visitor's saved drawings. Everything below the canvas then reads that image as it would a drawing."""
import numpy as np
import streamlit as st

from ui.state import cached

CANVAS, TEST, SAVED = "The canvas", "An MNIST test image", "A saved drawing"


def choose():
    """(x28 (28, 28) float32 in [0, 1], what it is) of the image chosen here, or None to read the canvas."""
    with st.expander("Draw without a pointer: choose a digit", icon=":material/keyboard:"):
        source = st.radio("Read", [CANVAS, TEST, SAVED], horizontal=True, key="draw_source",
                          help="Tab to a choice, then use the arrow keys; everything below reads the image chosen.")
        if source == TEST:
            _, _, x, y = cached.subset()
            i = st.number_input(f"Test image (0 to {len(x) - 1})", 0, len(x) - 1, 0, key="draw_test_index")
            return x[i].astype(np.float32) / 255, f"MNIST test image #{i}, a {int(y[i])}"
        if source == SAVED:
            return _saved()
    return None


def _saved():
    store = cached.drawings_store()
    ids, x, y = store.arrays() if store is not None else ([], None, None)
    if not len(ids):
        st.info("No saved drawings yet: save one with **Wrong? It's a …** below a drawing, or choose a test image.")
        return None
    n = st.selectbox("Saved drawing", range(len(ids)), index=len(ids) - 1, key="draw_saved_index",
                     format_func=lambda k: f"#{k + 1}, saved as a {int(y[k])}")
    return x[n], f"your saved drawing #{n + 1}, a {int(y[n])}"
