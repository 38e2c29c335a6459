"""The state that pages, fragments and panels share in st.session_state: every shared key is named here, and
read or written only through these accessors. A key one module alone uses stays in that module, and a page's
widget keys are that page's: another page asks for a change (see hand_to_inside) and the page applies it."""
import uuid

import numpy as np
import streamlit as st

MODEL_KEY = "model_key"          # the model in use on every page: "file:<name>", "saved:<name>" or "session:<name>"
MODELS = "session_models"        # {name: Model} trained, fine-tuned or uploaded in this browser session
DRAWING = "drawing"              # the Draw canvas as the network's (28, 28) float32 input in [0, 1], or None
DRAWING_RGBA = "drawing_rgba"    # the same drawing as the raw canvas, (H, W, 4) uint8, or None
INSPECT = "inspect_image"        # {"image", "label", "caption", "fresh"}: an image handed to Inside the network
PENDING = "finetune_pending"     # a fine-tuned copy of the model in use, waiting for Keep or Discard
MNIST_ERROR = "mnist_error"      # why MNIST could not be read: not retried on every rerun of this session
VISITOR = "visitor_token"        # this browser session's random id (public mode's anonymous visitor)
JOB = "job"                      # this session's training run (ui.core.jobs.TrainingJob), running or ended, or absent
MAX_MODELS = 8                   # models one browser session keeps in memory (trained, fine-tuned, uploaded)
TRAIN_REQUEST = "train_request"  # settings another page asks the sidebar to put in its form, or absent
TRACE = "trace_request"          # (stage, unit, row, col) of the drawing another page asks Inside to trace, or absent


def model_key():
    return st.session_state.get(MODEL_KEY)


def select(key):
    """Make `key` the model in use on every page (each page's picker follows it)."""
    st.session_state[MODEL_KEY] = key


def models():
    """{name: Model} of this browser session; each is only read once its training ended."""
    return st.session_state.setdefault(MODELS, {})


def training_job():
    """This session's latest training run (ui.core.jobs.TrainingJob), or None."""
    return st.session_state.get(JOB)


def room_for_model():
    """None while this session may add a model, else why not (a session's models live in the server's memory)."""
    if len(models()) < MAX_MODELS:
        return None
    return (f"this session holds {MAX_MODELS} models, as many as it keeps; remove one under **Your models** in "
            "the sidebar first")


def drawing():
    """(x28, rgba) of the drawing on the Draw page's canvas; (None, None) when it is empty."""
    return st.session_state.get(DRAWING), st.session_state.get(DRAWING_RGBA)


def set_drawing(x28, rgba):
    st.session_state[DRAWING] = x28
    st.session_state[DRAWING_RGBA] = rgba if x28 is not None else None


def hand_to_inside(image, label, caption):
    """Give Inside the network an image to show; that page selects it the next time it runs."""
    st.session_state[INSPECT] = {"image": np.asarray(image, np.float32), "label": label, "caption": caption,
                                 "fresh": True}


def inspected():
    """The image last handed to Inside the network, or None; `fresh` until that page has shown it once."""
    return st.session_state.get(INSPECT)


def mark_inspected():
    if INSPECT in st.session_state:
        st.session_state[INSPECT]["fresh"] = False


def ask_sidebar_to_train(request):
    """Ask the sidebar to fill its training form with `request` ({"arch", "epochs", "n_train", "seed", "lr",
    "batch_size", "optimizer", "activation", "source"}, any subset with "arch"); done the next time it is drawn."""
    st.session_state[TRAIN_REQUEST] = dict(request)


def take_train_request():
    """The settings asked for by ask_sidebar_to_train, once (None when nothing was asked)."""
    return st.session_state.pop(TRAIN_REQUEST, None)


def ask_trace(stage, unit, row, col):
    """Ask Inside the network to trace this value of the drawing (stage index as cnn.teach.trace.stages)."""
    st.session_state[TRACE] = (int(stage), int(unit), int(row), int(col))


def take_trace():
    """The value asked for by ask_trace, once (None when nothing was asked)."""
    return st.session_state.pop(TRACE, None)


def trace_asked():
    return TRACE in st.session_state


def pending_finetune():
    return st.session_state.get(PENDING)


def set_pending_finetune(pending):
    """`pending` a dict with the tuned "model" and its "base_key", or None to drop it."""
    if pending is None:
        st.session_state.pop(PENDING, None)
    else:
        st.session_state[PENDING] = pending


def mnist_error():
    return st.session_state.get(MNIST_ERROR)


def set_mnist_error(message):
    st.session_state[MNIST_ERROR] = message


def token():
    """A random id for this browser session, made on first use (32 hex digits)."""
    return st.session_state.setdefault(VISITOR, uuid.uuid4().hex)
