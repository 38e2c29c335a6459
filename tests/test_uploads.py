"""The bound on files held by Streamlit's upload endpoint (ui/state/uploads.py), without a server: first the
Streamlit internals it relies on, pinned so that an upgrade that changes them fails here, loudly; then the bounded
manager itself. The attack on a real server: tests/test_browser_uploads.py."""
import inspect

import pytest
from streamlit.runtime import app_session
from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager
from streamlit.runtime.uploaded_file_manager import UploadedFileRec
from streamlit.web.server import server

from ui.state import uploads
from ui.state.uploads import BoundedUploadedFileManager

MB = 2**20


def test_the_streamlit_internals_the_bound_relies_on():
    # The server makes one MemoryUploadedFileManager and hands it to the runtime (install() swaps its class).
    assert "MemoryUploadedFileManager(UPLOAD_FILE_ENDPOINT)" in inspect.getsource(server.Server.__init__)
    # The upload route stores each PUT through add_file, whose exception refuses it (Starlette's HTTPException).
    from streamlit.web.server.starlette import starlette_routes
    route = inspect.getsource(starlette_routes.create_upload_routes)
    assert "upload_mgr.add_file(" in route and "HTTPException" in route
    # A session asks for upload ids through get_upload_urls; it ends through remove_session_files.
    session = inspect.getsource(app_session)
    assert "_uploaded_file_mgr.get_upload_urls(" in session and "_uploaded_file_mgr.remove_session_files(" in session
    # The methods overridden, and what they read, as they are.
    for name, params in {"add_file": ["self", "session_id", "file"],
                         "get_upload_urls": ["self", "session_id", "file_names"],
                         "remove_session_files": ["self", "session_id"],
                         "remove_file": ["self", "session_id", "file_id"]}.items():
        assert list(inspect.signature(getattr(MemoryUploadedFileManager, name)).parameters) == params, name
    mgr = MemoryUploadedFileManager("/_stcore/upload_file")
    assert isinstance(mgr.file_storage, dict) and hasattr(mgr, "_lock") and hasattr(mgr, "__dict__")
    assert UploadedFileRec._fields == ("file_id", "name", "type", "data")


@pytest.fixture
def mgr(monkeypatch):
    monkeypatch.setenv("CNN_MAX_SESSION_UPLOADS_MB", "10")
    monkeypatch.setenv("CNN_MAX_UPLOADS_MB", "25")
    m = MemoryUploadedFileManager("/_stcore/upload_file")
    m.__class__ = BoundedUploadedFileManager               # as install() does to the server's manager
    return m


def put(mgr, session, mb, file_id=None):
    """PUT `mb` MB as a widget would: an id issued to the session first (or the one given, made up)."""
    if file_id is None:
        file_id = mgr.get_upload_urls(session, ["f"])[0].file_id
    mgr.add_file(session, UploadedFileRec(file_id=file_id, name="f", type="application/octet-stream",
                                          data=bytes(int(mb * MB))))
    return file_id


def refused(mgr, session, mb, file_id=None):
    with pytest.raises(Exception) as e:  # noqa: PT011 - Starlette's HTTPException, or UploadRefused
        put(mgr, session, mb, file_id)
    return str(getattr(e.value, "detail", e.value))


def test_a_made_up_id_is_refused_and_an_issued_one_used_once(mgr):
    assert "not asked for" in refused(mgr, "s1", 1, "made-up")
    issued = put(mgr, "s1", 1)
    assert "not asked for" in refused(mgr, "s1", 1, issued)              # used: not again
    assert "not asked for" in refused(mgr, "s2", 1, mgr.get_upload_urls("s1", ["f"])[0].file_id)   # not s2's
    assert mgr.held_bytes() == 1 * MB


def test_one_session_and_all_sessions_are_bounded(mgr):
    put(mgr, "s1", 6)
    assert "this tab holds 10 MB" in refused(mgr, "s1", 6)             # 12 MB > 10 per session (6 is fresh)
    put(mgr, "s2", 9)
    put(mgr, "s3", 9)
    assert "the server holds as many" in refused(mgr, "s4", 2)         # 26 MB > 25 in all
    assert mgr.held_bytes() == 24 * MB
    mgr.remove_session_files("s3")                                      # a tab closed: its files go
    put(mgr, "s4", 2)
    assert mgr.held_bytes() == 17 * MB


def test_files_no_widget_uses_are_dropped(mgr, monkeypatch):
    used = put(mgr, "s1", 4)
    unused = put(mgr, "s1", 4)
    mgr.mark_used("s1", "photo_upload", used)
    assert mgr.held_bytes("s1") == 8 * MB                               # the unused one is fresh yet
    monkeypatch.setattr(uploads, "GRACE_S", 0)
    mgr.mark_used("s1", "photo_upload", used)
    assert [f.file_id for f in mgr.get_files("s1", [used, unused])] == [used]
    mgr.mark_used("s1", "photo_upload", None)                           # the widget let go of it
    assert mgr.held_bytes("s1") == 0
    put(mgr, "s1", 9)                                                   # room again for an honest upload


def test_install_does_nothing_without_a_server():
    assert uploads.install() is None
