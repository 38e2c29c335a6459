"""Public mode's clean-up: a visitor's activity is stamped on their folder, and expired folders are deleted."""
import logging
import os
import shutil
import threading
import time

import streamlit as st
from streamlit import runtime

from ui.core import locks
from ui.core.store import StoreError
from ui.state import visitor

LOG = logging.getLogger(__name__)
LAST_TOUCH = "visitor_touched"           # when this session last stamped its visitor's folder (time.time())
_lock = threading.Lock()
_last_sweep = [0.0]


def on_run():
    """Every run of the app in public mode: stamp this visitor's folder (once a minute at most), and delete
    expired visitors' folders (once per CNN_SWEEP_SECONDS per server at most)."""
    now = time.time()
    try:
        if now - st.session_state.get(LAST_TOUCH, 0) >= visitor.TOUCH_SECONDS:
            st.session_state[LAST_TOUCH] = now
            if visitor.folder().is_dir():
                visitor.claim()
        visitor.processes()                            # mark this app process alive for the others
        sweep(now)
    except (StoreError, OSError) as e:                 # the pages say so where the data is used
        LOG.warning("visitors' data: %s", e)


def sweep(now=None, force=False):
    """Delete the folders of visitors inactive for CNN_EXPIRY_HOURS, and of anonymous visitors whose tab has
    been closed (its session ended) for CNN_CLOSED_TAB_SECONDS. -> the names of the folders deleted.

    Several app processes may share the data folder and sweep at once: a folder is first renamed away (atomic: one
    process wins, the others see it gone), so each is deleted once, and a tab of another live process is left to
    that process to judge."""
    now, lim = now or time.time(), visitor.limits()
    with _lock:
        if not force and now - _last_sweep[0] < lim.sweep_s:
            return []
        _last_sweep[0] = now
    root = visitor.root()
    deleted = []
    for path in sorted(root.iterdir()) if root.is_dir() else []:
        if path.name.startswith(".") or not path.is_dir() or not _expired(path, now, lim):
            continue
        doomed = root / f".deleting-{locks.PROCESS}-{path.name}"
        try:
            os.rename(path, doomed)
        except OSError:                                # another process took it first, or it is in use
            continue
        shutil.rmtree(doomed, ignore_errors=True)
        deleted.append(path.name)
    for doomed in root.glob(".deleting-*") if root.is_dir() else []:     # left by a process that ended meanwhile
        process = "-".join(doomed.name.split("-")[1:3])                  # .deleting-<pid>-<token>-<visitor>
        if not locks.process_alive(visitor.processes(), process):
            shutil.rmtree(doomed, ignore_errors=True)
    return deleted


def _expired(path, now, lim):
    """Whether a visitor's folder has expired. False when it vanishes while we look: another process is deleting
    it (its sweep renamed it away), and it is that process's to delete."""
    seen = path / visitor.SEEN
    try:
        idle = now - (seen if seen.exists() else path).stat().st_mtime   # no stamp (being created, damaged): its
    except OSError:                                                      # own time
        return False
    if idle > lim.hours * 3600:
        return True
    owner = path / visitor.OWNER
    if idle <= lim.grace_s or not owner.is_file() or not runtime.exists():
        return False
    try:
        return not visitor.owner_alive(owner.read_text())
    except OSError:
        return False
