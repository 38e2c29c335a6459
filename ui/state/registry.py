"""The model registry: shipped weights files (loaded once, shared by every session, never mutated), in public
mode the visitor's own saved models, and the models of this browser session, plus which one is selected."""
import os
import re
from pathlib import Path

import streamlit as st
from streamlit import runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

import cnn
from cnn.studies.origin import CONFIGURATIONS as ORIGIN_CONFIGS
from ui.core.model_cache import ModelCache
from ui.core.text import md_escape
from ui.state import held, session, visitor

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = "default"
RESERVED = {DEFAULT, "experiment", *ORIGIN_CONFIGS}     # shipped names, refused even before they exist
NAME_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
# Loaded models shared by every session, bounded by their weights' bytes (CNN_MODEL_CACHE_MB, default 256).
CACHE = ModelCache(float(os.environ.get("CNN_MODEL_CACHE_MB") or 256) * 2**20)
select, session_models = session.select, session.models          # the names the other modules use


def weights_dir():
    """weights/ next to app.py; CNN_WEIGHTS_DIR points the app elsewhere (tests use a temporary folder)."""
    return Path(os.environ.get("CNN_WEIGHTS_DIR") or ROOT / "weights")


def save_dir():
    """Where "Save" writes: weights/ locally; in public mode the visitor's own models folder."""
    return visitor.folder() / "models" if visitor.public() else weights_dir()


def weight_files(folder=None):
    """{name: path} of weights/*.npz (or `folder`'s), default first. Hidden files are skipped: a save in progress
    (or one killed midway) is a hidden .tmp file, and other tools leave hidden files such as ._default.npz."""
    folder = weights_dir() if folder is None else folder
    files = sorted((p for p in folder.glob("*.npz") if not p.name.startswith(".")),
                   key=lambda p: (p.stem != DEFAULT, p.stem))
    return {p.stem: p for p in files}


def saved_files():
    """{name: path} of the visitor's own saved models (public mode; locally they are in weights/)."""
    return weight_files(save_dir()) if visitor.public() else {}


def saved_here():
    """Names this visitor may replace: in public mode their own saved models, locally those saved this session."""
    if visitor.public():
        return set(saved_files())
    return st.session_state.setdefault("saved_names", set())


def load_file(path):
    return CACHE.get(path, name=Path(path).name)


def options():
    """Keys of every selectable model: "file:<name>", then "saved:<name>", then "session:<name>"."""
    return ([f"file:{n}" for n in weight_files()] + [f"saved:{n}" for n in saved_files()]
            + [f"session:{n}" for n in list(session_models())])


def get_model(key):
    """The Model for a key; cnn.WeightsError (or OSError) when a file cannot be used, KeyError for no such key."""
    kind, name = key.split(":", 1)
    if kind == "session":
        held.touch(name)
        return session_models()[name]
    if not NAME_RE.fullmatch(name) or kind not in ("file", "saved") or (kind == "saved" and not visitor.public()):
        raise KeyError(key)
    folder = save_dir() if kind == "saved" else weights_dir()
    return load_file(folder / f"{name}.npz")              # no folder listing: the picker asks for every key


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
    return f"{name} · {text}" + {"session": " · trained here", "saved": " · saved by you"}.get(kind, "")


def model_picker(page):
    """A selectbox of every model; returns the loaded Model, or None (after saying why)."""
    keys = options()
    if not keys:
        st.warning("No trained model yet: `weights/` holds no `.npz` files. Train one in the sidebar "
                   "(a minute on a few thousand images is enough to try), or run `python -m cnn train --out "
                   "weights/default.npz`.")
        return None
    widget, wanted = f"model_picker_{page}", session.model_key()
    if wanted in keys and st.session_state.get(widget) != wanted:
        st.session_state[widget] = wanted             # follow a choice made on another page or by training
    labels = {k: label(k) for k in keys}             # a plain lookup: format_func may run outside the script
    key = st.selectbox("Model", keys, format_func=labels.get, key=widget, on_change=_picked, args=(widget,),
                       help="Shipped models, your own saved models and the models trained or uploaded in this "
                       "session, with their architecture and test accuracy.")
    select(key)
    try:
        return get_model(key)
    except cnn.WeightsError as e:
        st.error(f"This model cannot be used: {md_escape(e)}. Choose another model, or replace the file.")
        return None
    except KeyError:                                      # a session model dropped meanwhile (ui/state/held.py)
        st.warning("This model is no longer held here. Choose another model.")
        return None
    except OSError as e:                                  # a file gone or unreadable: no server path in public
        st.error(f"This model cannot be used: {visitor.tell(e, 'its file cannot be read')}. Choose another model.")
        return None


def _picked(widget):
    """The user chose a model: it becomes model_key before the script reruns, so the picker keeps it."""
    select(st.session_state[widget])


def check_save_name(name, saved_here):
    """The path to save a model under `name` in save_dir(), or ValueError saying why not (QuotaError when the
    visitor has as many saved models as public mode allows). Never replaces a shipped file: a name that exists
    is refused unless it is in `saved_here` (saved by this session; in public mode, the visitor's own)."""
    name = (name or "").strip()
    if name.lower().endswith(".npz"):
        name = name[:-4]
    if not NAME_RE.fullmatch(name):
        raise ValueError("use 1 to 64 letters, digits, '-' or '_' (no spaces, dots or slashes)")
    if name in RESERVED and name not in saved_here:
        raise ValueError(f"'{name}' is the name of a shipped model; choose another name")
    if visitor.public() and name not in saved_here and len(saved_here) >= visitor.limits().models:
        raise visitor.QuotaError(f"you can keep {visitor.limits().models} saved models here; save under the name "
                                 "of one of yours to replace it, or download this one instead")
    path = save_dir() / f"{name}.npz"
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
