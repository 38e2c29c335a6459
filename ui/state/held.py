"""Public mode's bound on the models all sessions hold in the server's memory (trained, fine-tuned, uploaded).

Each session model counts with the bytes of every array it holds (weights, and what training left: gradients,
optimizer state). When a new one would take the total past CNN_MAX_HELD_MB, the least recently used models of any
session are dropped first; each is written to its owner's folder on disk (within their quota) so that their next run
tells them and offers the download, and the file goes with their folder when it expires.
"""
import contextlib
import logging
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import streamlit as st
from streamlit import runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from cnn.files.weights import to_bytes
from ui.core.text import md_escape
from ui.state import session, visitor

LOG = logging.getLogger(__name__)
DROPPED = "dropped_models"      # this session's models dropped from memory: [(name, path of its .npz or None)]


def max_bytes():
    return float(os.environ.get("CNN_MAX_HELD_MB") or 600) * 2**20


@dataclass
class _Entry:
    models: dict                # the owner's session models, where the model is dropped from
    model: object
    bytes: int
    folder: Path                # the owner's visitor folder
    session_id: str             # the owner's Streamlit session, while it lasts


_lock = threading.Lock()
_held = OrderedDict()           # (owner, name) -> _Entry, least recently used first; owner: session.token()
_dropped = {}                   # owner -> [(name, path or None)] not yet told


def memory_bytes(model):
    """Bytes of every NumPy array a model holds (its layers' parameters, gradients, caches, optimizer state)."""
    seen, total, stack = set(), 0, [model]
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, np.ndarray):
            total += obj.nbytes
        elif isinstance(obj, dict):
            stack.extend(obj.values())
        elif isinstance(obj, (list, tuple)):
            stack.extend(obj)
        elif hasattr(obj, "__dict__") and not isinstance(obj, type):
            stack.extend(vars(obj).values())
    return total


def _owner():
    return session.token()


def hold(name, model):
    """This session now holds `model` as `name` (public mode): count it, and drop the least recently used models of
    any session while all of them together pass the bound. -> the names dropped from this session."""
    ctx = get_script_run_ctx()
    if not visitor.public() or ctx is None:
        return []
    sid = _owner()
    entry = _Entry(session.models(), model, memory_bytes(model), visitor.folder(), ctx.session_id)
    with _lock:
        _forget_ended_sessions()
        _held[(sid, name)] = entry
        _held.move_to_end((sid, name))
        victims = []
        while sum(e.bytes for e in _held.values()) > max_bytes() and len(_held) > 1:
            key = next(iter(_held))
            victims.append((key, _held.pop(key)))
    for (owner, victim_name), victim in victims:
        if victim.models.get(victim_name) is victim.model:
            victim.models.pop(victim_name, None)
            path = _keep_on_disk(victim_name, victim)
            with _lock:
                _dropped.setdefault(owner, []).append((victim_name, path))
    return [n for (owner, n), _ in victims if owner == sid]


def touch(name):
    """This session used its model `name`: it is the most recently used."""
    sid = _owner()
    with _lock:
        if (sid, name) in _held:
            _held.move_to_end((sid, name))


def forget(name):
    """This session removed its model `name`."""
    with _lock:
        _held.pop((_owner(), name), None)


def total_bytes():
    with _lock:
        return sum(e.bytes for e in _held.values())


def _keep_on_disk(name, entry):
    """The dropped model as <owner's folder>/dropped/<name>.npz when their quota has room; -> the path, or None."""
    try:
        data = to_bytes(entry.model)
        lim = visitor.limits()
        if (visitor.usage_bytes(entry.folder) + len(data) > lim.visitor_mb * 2**20
                or visitor.usage_bytes(visitor.root()) + len(data) > lim.total_mb * 2**20):
            return None
        path = entry.folder / "dropped" / f"{name}.npz"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path
    except OSError as e:
        LOG.warning("a dropped model could not be kept on disk: %s", e)
        return None


def _forget_ended_sessions():
    if runtime.exists():
        server = runtime.get_instance()
        for key in [k for k, e in _held.items() if not server.is_active_session(e.session_id)]:
            del _held[key]


def tell_dropped():
    """On this session's run: say which of its models were dropped from memory, and offer each one's download.
    -> the names dropped since the last run."""
    with _lock:
        news = _dropped.pop(_owner(), [])
    notices = st.session_state.setdefault(DROPPED, [])
    notices.extend(news)
    if news and session.model_key() in {f"session:{n}" for n, _ in news}:
        session.select(None)                                         # the pickers choose another model
    for i, (name, path) in enumerate(list(notices)):
        box = st.sidebar.container(border=True)
        box.warning(f"**{md_escape(name)}** was dropped from the server's memory: it was your least recently used "
                    "model, and the server holds as many models as it can. " + (
                        "Download it to keep it." if path else "There was no room to keep a copy for you."),
                    icon=":material/memory:")
        if path is not None:
            with contextlib.suppress(OSError):
                box.download_button("Download .npz", data=Path(path).read_bytes(), file_name=f"{name}.npz",
                                    mime="application/octet-stream", key=f"dropped_download_{i}")
        if box.button("Dismiss", key=f"dropped_dismiss_{i}"):
            notices.remove((name, path))
            if path is not None:
                Path(path).unlink(missing_ok=True)
            st.rerun()
    return [n for n, _ in news]
