"""Whose data is whose: the app's two modes, one switch.

Local mode (the default): one person runs the app on their own computer. Drawings are kept in the per-user data
folder and saved models go into weights/, as they always have.

Public mode (CNN_PUBLIC=1, for sharing the app by URL): each visitor is a browser session, or a signed-in user
when the deployer configures Streamlit's login (st.login). A visitor's drawings and saved models live in a folder
of their own, <data folder>/visitors/<id>/, that no other visitor can reach; quotas bound each visitor and all of
them together; a folder is deleted when its visitor has been inactive for CNN_EXPIRY_HOURS, or when an anonymous
visitor's tab has been closed for a few minutes. Error details and server paths are not shown.
"""
import contextlib
import hashlib
import logging
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import streamlit as st
from streamlit import runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from ui.core import locks
from ui.core.store import data_dir
from ui.state import client, session

LOG = logging.getLogger(__name__)
SEEN, OWNER = ".seen", ".owner"  # a folder's last activity (modification time); "<app process> <session id>" of
                                 # an anonymous visitor's tab
TOUCH_SECONDS = 60               # a visitor's activity is written at most this often


class QuotaError(ValueError):
    """A visitor's or the server's quota is full; the message says which and what to do."""


def public():
    return os.environ.get("CNN_PUBLIC", "").strip().lower() in {"1", "true", "yes", "on"}


def _env(name, default):
    return float(os.environ.get(name) or default)


@dataclass(frozen=True)
class Limits:
    drawings: int          # stored drawings per visitor
    models: int            # saved models per visitor
    uploads: int           # uploaded models held at once per visitor
    visitor_mb: float      # one visitor's folder (drawings and saved models), on disk
    total_mb: float        # every visitor's folder together, on disk
    uploads_mb: float      # every visitor's uploaded models together, in the server's memory
    hours: float           # a visitor's data is deleted this long after their last action
    grace_s: float         # ... or this long after an anonymous visitor's tab closed
    sweep_s: float         # at most one clean-up per this many seconds


def limits():
    """Public mode's quotas; each can be changed by its environment variable (docs/public-mode.md)."""
    return Limits(drawings=int(_env("CNN_MAX_DRAWINGS", 500)), models=int(_env("CNN_MAX_MODELS", 5)),
                  uploads=int(_env("CNN_MAX_UPLOADS", 3)), visitor_mb=_env("CNN_MAX_VISITOR_MB", 100),
                  total_mb=_env("CNN_MAX_TOTAL_MB", 1000),
                  uploads_mb=_env("CNN_MAX_UPLOADS_MB", 500), hours=_env("CNN_EXPIRY_HOURS", 24),
                  grace_s=_env("CNN_CLOSED_TAB_SECONDS", 600), sweep_s=_env("CNN_SWEEP_SECONDS", 60))


def visitor_id():
    """None in local mode; in public mode "u-<hash>" for a signed-in user, else "s-<random>" for this session."""
    if not public():
        return None
    user = st.user.to_dict()
    claim = user.get("is_logged_in") is True and (user.get("sub") or user.get("email"))
    if claim:                                    # the identity provider's stable id, hashed: no e-mail in paths
        return "u-" + hashlib.sha256(f"{user.get('iss', '')}|{claim}".encode()).hexdigest()[:32]
    return "s-" + (client.proxy_visitor() or session.token())    # the proxy's cookie: the same after a reconnect


def root():
    return data_dir() / "visitors"


def folder():
    """This visitor's folder in public mode (it may not exist yet); None in local mode."""
    vid = visitor_id()
    return None if vid is None else root() / vid


def claim():
    """Create this visitor's folder before writing into it, and mark it in use; -> the folder."""
    path = folder()
    path.mkdir(parents=True, exist_ok=True)
    (path / SEEN).touch()
    ctx = get_script_run_ctx()
    if path.name.startswith("s-") and ctx is not None and runtime.exists():
        mine, owner = f"{locks.PROCESS} {ctx.session_id}", path / OWNER
        processes()                                # this process is marked alive before it names itself owner
        with contextlib.suppress(OSError):
            if not owner.exists() or (owner.read_text() != mine and not owner_alive(owner.read_text())):
                owner.write_text(mine)             # a tab that reconnected to this process after its own ended
    return path


def processes():
    """The folder where each app process sharing the data folder marks itself alive (ui/core/locks.py)."""
    folder = data_dir() / "locks" / "processes"
    locks.mark_alive(folder)
    return folder


def owner_alive(text):
    """Is the tab named by an OWNER file's text still open? A tab of another app process counts as open while that
    process runs (that process judges its own tabs); every tab of an app process that has ended is closed."""
    process, _, session_id = text.strip().rpartition(" ")
    if process and process != locks.PROCESS:
        return locks.process_alive(processes(), process)
    return runtime.exists() and runtime.get_instance().is_active_session(session_id)


def usage_bytes(path):
    """Bytes of every file under `path` (0 when it does not exist)."""
    total = 0
    for p in Path(path).rglob("*") if Path(path).is_dir() else ():
        with contextlib.suppress(OSError):       # deleted meanwhile
            total += p.stat().st_size if p.is_file() else 0
    return total


def check_room(n_bytes):
    """QuotaError when `n_bytes` more would overfill this visitor's space, or that of all visitors together."""
    lim = limits()
    if usage_bytes(folder()) + n_bytes > lim.visitor_mb * 2**20:
        raise QuotaError(f"your data here takes {usage_bytes(folder()) / 2**20:.1f} MB of the {lim.visitor_mb:g} MB "
                         "a visitor may keep. Delete drawings on the Evaluate page or saved models in the sidebar "
                         "first, or download what you want to keep")
    if usage_bytes(root()) + n_bytes > lim.total_mb * 2**20:
        raise QuotaError("the server's space for visitors' data is full. Try again later (data of visitors who "
                         "left is deleted as it expires), or download what you want to keep")


_ledger_lock = threading.Lock()
_uploads = {}                    # visitor id -> (Streamlit session id or None, bytes of uploaded models held)


def check_uploads(n_held, n_bytes):
    """QuotaError unless this visitor may hold one more uploaded model of `n_bytes`, having `n_held` already."""
    lim = limits()
    if n_held >= lim.uploads:
        raise QuotaError(f"you can use {lim.uploads} uploaded models at a time here. Remove one under "
                         "**Your models** in the sidebar first")
    with _ledger_lock:
        _forget_ended_sessions()
        others = sum(b for v, (_, b) in _uploads.items() if v != visitor_id())
        mine = _uploads.get(visitor_id(), (None, 0))[1]
    if others + mine + n_bytes > lim.uploads_mb * 2**20:
        raise QuotaError("the server holds as many uploaded models as it can. Try again in a while")


def record_uploads(n_bytes):
    """This visitor now holds `n_bytes` of uploaded models (counted against everyone's total)."""
    if not public():
        return
    ctx = get_script_run_ctx()
    with _ledger_lock:
        _uploads[visitor_id()] = (ctx.session_id if ctx is not None and runtime.exists() else None, n_bytes)


def _forget_ended_sessions():
    if runtime.exists():
        for v, (sid, _) in list(_uploads.items()):
            if sid is not None and not runtime.get_instance().is_active_session(sid):
                del _uploads[v]


def tell(error, public_text):
    """What to show for an error: its own message locally; in public mode `public_text`, with the error (which
    may name server paths) going to the server's log instead."""
    if not public():
        return str(error)
    LOG.warning("%s: %s", type(error).__name__, error)
    return public_text


def privacy_note():
    """In plain words: what is kept, where, for how long, and who can see it."""
    if not public():
        return (f"Your drawings are kept on this computer in `{data_dir()}` until you delete them, and models you "
                "save go into `weights/` beside the app. Anyone using this computer's copy of the app can see them.")
    lim, user = limits(), st.user.to_dict()
    signed_in = visitor_id().startswith("u-")
    owner = (f"your sign-in ({user.get('email') or user.get('name') or 'your account'})" if signed_in
             else "this browser tab")
    until = (f"deleted {lim.hours:g} hours after your last visit" if signed_in else
             f"deleted a few minutes after you close or reload this tab, and {lim.hours:g} hours after your last "
             "action in any case")
    return (f"What you store here is yours: nobody else using this app can see, load or delete it. Your drawings "
            f"(up to {lim.drawings}) and saved models (up to {lim.models}), {lim.visitor_mb:g} MB in all, are kept "
            f"on this app's server for {owner}, "
            f"and {until}. Models you train or upload (up to {lim.uploads} uploads) stay in this tab's memory only. "
            "Download anything you want to keep.")
