"""Streamlit helpers shared by the pages: model fingerprints, cached evaluation, MNIST with its fallback (the
committed subset), and the visitor's drawings store."""
import hashlib

import numpy as np
import streamlit as st

import cnn
from cnn.files.mnist import load_subset
from cnn.teach.evaluation import confusion
from ui.core import admission
from ui.core.store import DrawingStore, StoreError
from ui.state import registry, session, visitor

NO_MNIST = "The full MNIST set is not available on this server."      # public mode's words for a MnistError


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
    """cnn.teach.evaluation.confusion, cached by (model fingerprint, data set id) and shared by every session (one
    computes while the others wait for it), in one of the server's evaluation slots. None, after saying why,
    when the server's queue of evaluations is full."""
    busy = admission.EVALUATIONS.counts()[0] >= admission.EVALUATIONS.slots
    wait = "Waiting for other visitors' evaluations to finish, then evaluating" if busy else "Evaluating"
    with st.spinner(f"{wait} on {len(x):,} images…"):
        try:
            return _evaluate(model_id, data_id, model, x, y, registry.session_alive())
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
    failed = session.mnist_error()
    if failed:
        raise cnn.MnistError(failed)
    try:
        return cnn.load_mnist()
    except cnn.MnistError as e:
        session.set_mnist_error(visitor.tell(e, NO_MNIST))
        raise cnn.MnistError(session.mnist_error()) from None


@st.cache_resource(show_spinner=False)
def subset():
    """cnn.files.mnist.load_subset(), read once per server (read-only arrays, shared by every session)."""
    return load_subset()


def mnist_or_subset():
    """(x_train, y_train, x_test, y_test, problem): MNIST, else the committed subset (1,000 training and 2,000
    test images) with why MNIST cannot be used as `problem` (None when it can). MnistError when neither can."""
    try:
        return (*mnist(), None)
    except cnn.MnistError as e:
        problem = str(e)
    try:
        return (*subset(), problem)
    except cnn.MnistError as e:
        raise cnn.MnistError(f"{problem} {visitor.tell(e, 'Nor are the test images committed with the app.')}") \
            from None


def test_set():
    """(x_test, y_test, name, problem): the 10,000 MNIST test images, or when MNIST cannot be used the
    2,000 committed test images, with the reason as `problem` (None when all is well)."""
    try:
        _, _, x, y, problem = mnist_or_subset()
    except cnn.MnistError as e:
        return None, None, None, str(e)
    return x, y, "subset-test" if problem else "mnist-test", problem


def drawings_store():
    """The store of this visitor's drawings (locally: the user's), or None after showing why it cannot be used."""
    try:
        store = DrawingStore(visitor.folder())       # None locally: the per-user data folder
        store.count()
        return store
    except StoreError as e:
        st.error("Your drawings cannot be stored or read: "
                 + visitor.tell(e, "the server's store is not available right now. Try again later."))
        return None


def inspect(image, label, caption):
    """Hand an image to the Inside-the-network page and go there."""
    session.hand_to_inside(image, label, caption)
    st.switch_page("app_pages/inside.py")
