"""Public mode's bound on the files Streamlit holds in memory for its upload endpoint.

Streamlit stores every file PUT to /_stcore/upload_file/<session>/<file id> in memory until the session ends,
whether or not a widget asked for it, so one tab could fill the server's memory with PUTs of its own. Streamlit
has no hook for this; install() swaps the class of the running server's file manager (one object, created by the
server and used by its upload route and every session) for a subclass that checks each file before keeping it:

- its id must be one Streamlit issued to that session (get_upload_urls, asked for by an uploader) and not yet
  used: a PUT with a made-up id is refused at once;
- the session's files that no widget uses are dropped (a widget's file is recorded by in_use() as the app runs;
  a file just sent gets GRACE_S seconds to reach its widget);
- the session holds at most CNN_MAX_SESSION_UPLOADS_MB, all sessions together at most CNN_MAX_UPLOADS_MB.

A refused PUT answers HTTP 413 and the uploader shows an error. Only methods of the manager's public interface
are overridden, each calling the original: if a Streamlit upgrade changes that interface or the manager's class,
tests/test_uploads.py fails (it pins what this relies on), and install() logs a warning and leaves the server as it
was rather than break uploads.
"""
import logging
import os
import threading
import time
from collections import OrderedDict

from streamlit import runtime
from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager
from streamlit.runtime.scriptrunner import get_script_run_ctx
from streamlit.runtime.uploaded_file_manager import UploadedFileManager

LOG = logging.getLogger(__name__)
GRACE_S = 30              # a file just uploaded may wait this long for its widget to claim it
ISSUED_PER_SESSION = 32   # upload ids remembered per session (an uploader asks for one per file)


def session_mb():
    return float(os.environ.get("CNN_MAX_SESSION_UPLOADS_MB") or 72)   # a 50 MB weights file and a 20 MB photo


def total_mb():
    return float(os.environ.get("CNN_MAX_UPLOADS_MB") or 500)


class UploadRefused(Exception):
    """A PUT the bound refuses: an HTTP 413 with this message where Streamlit's server is Starlette's."""


try:                                       # Streamlit's server turns this exception into its status and message
    from starlette.exceptions import HTTPException

    def _refuse(message):
        return HTTPException(status_code=413, detail=message)
except ImportError:                        # another server: any exception refuses the file (HTTP 500)
    def _refuse(message):
        return UploadRefused(message)


class BoundedUploadedFileManager(MemoryUploadedFileManager):
    """MemoryUploadedFileManager that keeps only files issued to a session, used or fresh, within the bounds."""

    def _bound_state(self):
        if not hasattr(self, "_bound"):
            self._bound = {"lock": threading.Lock(), "issued": {}, "used": {}, "added": {}}
        return self._bound

    def get_upload_urls(self, session_id, file_names):
        infos = super().get_upload_urls(session_id, file_names)
        b = self._bound_state()
        with b["lock"]:
            issued = b["issued"].setdefault(session_id, OrderedDict())
            for info in infos:
                issued[info.file_id] = True
            while len(issued) > ISSUED_PER_SESSION:
                issued.popitem(last=False)
        return infos

    def add_file(self, session_id, file):
        b = self._bound_state()
        with b["lock"]:
            if file.file_id not in b["issued"].get(session_id, {}):
                raise _refuse("this upload was not asked for by the app")
            b["issued"][session_id].pop(file.file_id)
            self._drop_unused(session_id, time.monotonic())
            with self._lock:
                held = {sid: sum(len(f.data) for f in files.values()) for sid, files in self.file_storage.items()}
            if held.get(session_id, 0) + len(file.data) > session_mb() * 2**20:
                raise _refuse(f"this tab holds {session_mb():g} MB of uploaded files; remove one first")
            if sum(held.values()) + len(file.data) > total_mb() * 2**20:
                raise _refuse("the server holds as many uploaded files as it can; try again in a while")
            b["added"][(session_id, file.file_id)] = time.monotonic()
            super().add_file(session_id, file)

    def remove_session_files(self, session_id):
        super().remove_session_files(session_id)
        b = self._bound_state()
        with b["lock"]:
            b["issued"].pop(session_id, None)
            b["used"].pop(session_id, None)
            for key in [k for k in b["added"] if k[0] == session_id]:
                del b["added"][key]

    def mark_used(self, session_id, widget, file_id):
        """The app's widget `widget` of this session now holds `file_id` (None: no file); unused files go."""
        b = self._bound_state()
        with b["lock"]:
            b["used"].setdefault(session_id, {})[widget] = file_id
            self._drop_unused(session_id, time.monotonic())

    def _drop_unused(self, session_id, now):
        """Remove this session's files that no widget holds and that are older than GRACE_S (lock held)."""
        used = set(self._bound["used"].get(session_id, {}).values())
        for file_id in list(self.file_storage.get(session_id, {})):
            added = self._bound["added"].get((session_id, file_id), 0)
            if file_id not in used and now - added > GRACE_S:
                super().remove_file(session_id, file_id)
                self._bound["added"].pop((session_id, file_id), None)

    def held_bytes(self, session_id=None):
        with self._lock:
            stores = [self.file_storage.get(session_id, {})] if session_id else list(self.file_storage.values())
            return sum(len(f.data) for files in stores for f in files.values())


_install_lock = threading.Lock()


def install():
    """Bound the running server's uploads (once per process; nothing outside a server). -> the manager, or None."""
    if not runtime.exists():
        return None
    with _install_lock:
        mgr = runtime.get_instance().uploaded_file_mgr
        if type(mgr) is MemoryUploadedFileManager:
            mgr.__class__ = BoundedUploadedFileManager
        elif not isinstance(mgr, UploadedFileManager) or type(mgr).__module__ == "unittest.mock":   # AppTest's
            return None
        elif not isinstance(mgr, BoundedUploadedFileManager):
            LOG.warning("uploads are not bounded: Streamlit's file manager is a %s", type(mgr).__name__)
            return None
        return mgr


def in_use(widget, file):
    """Record that the uploader `widget` of this session holds `file` (an UploadedFile, or None)."""
    ctx = get_script_run_ctx()
    mgr = runtime.get_instance().uploaded_file_mgr if runtime.exists() else None
    if ctx is not None and isinstance(mgr, BoundedUploadedFileManager):
        mgr.mark_used(ctx.session_id, widget, None if file is None else file.file_id)
