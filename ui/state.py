"""The model registry: shipped weights files (loaded once, shared by every session, never mutated)
and the models trained in this browser session (in st.session_state), plus which one is selected."""
import os
import re
from pathlib import Path

import streamlit as st
from streamlit import runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

import cnn

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = "default"
ORIGIN_CONFIGS = ["c8p", "c16p", "c8pc8", "c8pc16", "c16pc8", "c16pc16", "c8pc8p", "c8pc16p", "c16pc8p", "c16pc16p"]
RESERVED = {DEFAULT, "experiment", *ORIGIN_CONFIGS}     # shipped names, refused even before they exist
NAME_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
SIDEBAR_ARCH = "sidebar_arch"    # the sidebar form's "…or type your own" architecture input


def weights_dir():
    """weights/ next to app.py; CNN_WEIGHTS_DIR points the app elsewhere (tests use a temporary folder)."""
    return Path(os.environ.get("CNN_WEIGHTS_DIR") or ROOT / "weights")


def weight_files():
    """{name: path} of weights/*.npz, default first. Hidden files are skipped: a save in progress (or one
    killed midway) is a hidden .tmp file, and other tools leave hidden files such as ._default.npz."""
    files = sorted((p for p in weights_dir().glob("*.npz") if not p.name.startswith(".")),
                   key=lambda p: (p.stem != DEFAULT, p.stem))
    return {p.stem: p for p in files}


@st.cache_resource(show_spinner=False, max_entries=64)
def _load(path, stamp):            # stamp (size, mtime): a file replaced on disk is loaded afresh
    return cnn.load_model(path, name=Path(path).name)


def load_file(path):
    stat = Path(path).stat()
    return _load(str(path), (stat.st_size, stat.st_mtime_ns))


def session_models():
    """{name: Model} trained in this browser session; each is only read once its training ended."""
    return st.session_state.setdefault("session_models", {})


def options():
    """Keys of every selectable model: "file:<name>" then "session:<name>"."""
    return [f"file:{n}" for n in weight_files()] + [f"session:{n}" for n in session_models()]


def get_model(key):
    """The Model for a key; cnn.WeightsError (or OSError) when a file cannot be used."""
    kind, name = key.split(":", 1)
    if kind == "session":
        return session_models()[name]
    return load_file(weights_dir() / f"{name}.npz")       # no folder listing: the picker asks for every key


def describe(model):
    """'c16pc16 · 98.9%' (the last recorded test accuracy) from a model's own record."""
    acc = next((r.get("test_acc") for r in reversed(model.history) if r.get("test_acc") is not None), None)
    return f"{model.arch} · " + (f"{acc:.1%}" if acc is not None else "untrained")


def label(key):
    kind, name = key.split(":", 1)
    try:
        model = get_model(key)
    except (cnn.WeightsError, OSError, KeyError):
        return f"{name} (cannot be loaded)"
    text = describe(model).removeprefix(f"{name} · ")              # "c8p · c8p · 97%" -> "c8p · 97%"
    return f"{name} · {text}" + (" · trained here" if kind == "session" else "")


def select(key):
    """Make `key` the selected model on every page (each page's picker follows model_key)."""
    st.session_state["model_key"] = key


def model_picker(page):
    """A selectbox of every model; returns the loaded Model, or None (after saying why)."""
    keys = options()
    if not keys:
        st.warning("No trained model yet: `weights/` holds no `.npz` files. Train one in the sidebar "
                   "(a minute on a few thousand images is enough to try), or run `python -m cnn.train --out "
                   "weights/default.npz`.")
        return None
    widget, wanted = f"model_picker_{page}", st.session_state.get("model_key")
    if wanted in keys and st.session_state.get(widget) != wanted:
        st.session_state[widget] = wanted             # follow a choice made on another page or by training
    labels = {k: label(k) for k in keys}             # a plain lookup: format_func may run outside the script
    key = st.selectbox("Model", keys, format_func=labels.get, key=widget, on_change=_picked, args=(widget,),
                       help="Shipped models from weights/ and the models trained in this session, with their "
                       "architecture and test accuracy.")
    st.session_state["model_key"] = key
    try:
        return get_model(key)
    except (cnn.WeightsError, OSError) as e:
        st.error(f"This model cannot be used: {e}. Choose another model, or replace the file.")
        return None


def set_sidebar_arch(arch):
    """Put `arch` in the sidebar's architecture input (a callback: it runs before the sidebar is drawn)."""
    st.session_state[SIDEBAR_ARCH] = arch


def _picked(widget):
    """The user chose a model: it becomes model_key before the script reruns, so the picker keeps it."""
    select(st.session_state[widget])


def check_save_name(name, saved_here):
    """The path to save a model under `name` in weights/, or ValueError saying why not.
    Never replaces a shipped file: a name that exists is refused unless this session saved it."""
    name = (name or "").strip()
    if name.lower().endswith(".npz"):
        name = name[:-4]
    if not NAME_RE.fullmatch(name):
        raise ValueError("use 1 to 64 letters, digits, '-' or '_' (no spaces, dots or slashes)")
    if name in RESERVED and name not in saved_here:
        raise ValueError(f"'{name}' is the name of a shipped model; choose another name")
    path = weights_dir() / f"{name}.npz"
    if path.exists() and name not in saved_here:
        raise ValueError(f"weights/{name}.npz already exists and was not saved from this session; "
                         "choose another name")
    return path


def session_alive():
    """() -> bool: is this browser session still connected? (None outside a server, e.g. in AppTest)"""
    ctx = get_script_run_ctx()
    if ctx is None or not runtime.exists():
        return None
    server, session_id = runtime.get_instance(), ctx.session_id
    return lambda: server.is_active_session(session_id)
