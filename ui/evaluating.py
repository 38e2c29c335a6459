"""Streamlit helpers shared by the Evaluate and Draw pages: model fingerprints, cached evaluation,
the MNIST test set with its fallback, and the user's drawings store."""
import hashlib

import numpy as np
import streamlit as st

import cnn
from cnn.data import load_subset
from cnn.evaluation import confusion
from ui import admission, state
from ui.store import DrawingStore, StoreError

INSPECT_KEY = "inspect_image"      # {"image": (28, 28) float32, "label": int, "caption": str} for Inside the network


def fingerprint(model):
    """A short hash of a model's architecture and weights: its identity for caching."""
    h = hashlib.sha1(f"{model.arch}|{model.activation}|{model.input_offset}".encode())
    for p in model.params:
        for k in sorted(p):
            h.update(np.ascontiguousarray(p[k]).tobytes())
    return h.hexdigest()[:16]


def data_fingerprint(x, y):
    return hashlib.sha1(np.ascontiguousarray(x).tobytes() + np.ascontiguousarray(y).tobytes()).hexdigest()[:16]


def evaluate(model_id, data_id, model, x, y):
    """cnn.evaluation.confusion, cached by (model fingerprint, data set id) and shared by every session (one
    computes while the others wait for it), in one of the server's evaluation slots. None, after saying why,
    when the server's queue of evaluations is full."""
    busy = admission.EVALUATIONS.counts()[0] >= admission.EVALUATIONS.slots
    wait = "Waiting for other visitors' evaluations to finish, then evaluating" if busy else "Evaluating"
    with st.spinner(f"{wait} on {len(x):,} images…"):
        try:
            return _evaluate(model_id, data_id, model, x, y, state.session_alive())
        except admission.Busy as e:
            st.warning(f"Not evaluated now: {e}", icon=":material/hourglass_empty:")
            return None


@st.cache_data(max_entries=16, show_spinner=False)
def _evaluate(model_id, data_id, _model, _x, _y, _alive):
    def leave_if_gone(_):
        if _alive is not None and not _alive():
            raise admission.Busy("the browser session is gone")
    with admission.EVALUATIONS.slot(on_wait=leave_if_gone):
        return confusion(_model, _x, _y)


def mnist():
    """cnn.load_mnist(), or MnistError. A failure is remembered for the session (as on the Inside page),
    so a missing download is not retried on every rerun; a new browser session tries again."""
    failed = st.session_state.get("mnist_error")
    if failed:
        raise cnn.MnistError(failed)
    try:
        return cnn.load_mnist()
    except cnn.MnistError as e:
        st.session_state["mnist_error"] = str(e)
        raise


def test_set():
    """(x_test, y_test, name, problem): the 10,000 MNIST test images, or when MNIST cannot be used the
    2,000 committed test images, with the MnistError message as `problem` (None when all is well)."""
    try:
        _, _, x, y = mnist()
        return x, y, "mnist-test", None
    except cnn.MnistError as e:
        problem = str(e)
    try:
        _, _, x, y = load_subset()
    except cnn.MnistError as e:
        return None, None, None, f"{problem} {e}"
    return x, y, "subset-test", problem


def drawings_store():
    """The store of the user's drawings, or None after showing why it cannot be used."""
    try:
        store = DrawingStore()
        store.count()
        return store
    except StoreError as e:
        st.error(f"Your drawings cannot be stored or read: {e}")
        return None


def inspect(image, label, caption):
    """Hand an image to the Inside-the-network page and go there."""
    st.session_state[INSPECT_KEY] = {"image": np.asarray(image, np.float32), "label": label, "caption": caption}
    st.session_state["inside_source"] = caption                       # the Inside page's image picker
    st.switch_page("app_pages/inside.py")
