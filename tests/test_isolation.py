"""Each visitor's data is their own (issue 13), with AppTest: two AppTests are two browser sessions of one server
process. Public mode (CNN_PUBLIC=1): stores, exports, deletes, fine-tunes, saves and uploads are per visitor, the
quotas hold, expired visitors' data is deleted, no error details or server paths are shown. Local mode: as before."""
import io
import os
import time
from collections import OrderedDict

import numpy as np
import pytest
from streamlit import config
from streamlit.testing.v1 import AppTest

from helpers import APP, TIMEOUT, button, draw, seven
from ui.core.store import MAX_ROW_BYTES, DrawingStore
from ui.state import expiry, held, visitor


@pytest.fixture
def env(app_env, tmp_path, monkeypatch):
    """Public mode, a fresh data folder, quotas as given per test; error details restored afterwards."""
    monkeypatch.setenv("CNN_PUBLIC", "1")
    monkeypatch.setenv("CNN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(visitor, "_uploads", {})
    shown = config.get_option("client.showErrorDetails")
    yield tmp_path / "data"
    config.set_option("client.showErrorDetails", shown)


def visit(user=None):
    """A new visitor (a new browser session; signed in when `user` is given) on the Draw page."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    if user is not None:
        at.user = user
    at.run()
    assert not at.exception, at.exception
    return at


def save_drawing(at, label=7):
    draw(at, seven())
    at.selectbox(key="correct_label").select(label).run()
    button(at, "Save drawing").click().run()
    assert not at.exception, at.exception
    return at


def evaluate(at):
    at.switch_page("app_pages/evaluate.py").run()
    assert not at.exception, at.exception
    return at


def stored(at):
    """'Drawings stored' on the Evaluate page, 0 when it says none are stored."""
    values = [m.value for m in at.metric if m.label == "Drawings stored"]
    return int(values[0]) if values else 0


def texts(at):
    return " ".join(e.value for kind in ("markdown", "caption", "error", "success", "info", "warning")
                    for e in getattr(at, kind))


def folders(data):
    root = data / "visitors"
    return sorted(p.name for p in root.iterdir()) if root.is_dir() else []


def test_two_visitors_store_see_and_delete_only_their_own_drawings(env):
    alice, bob = visit(), visit()
    save_drawing(alice)
    assert "Saved drawing #1 as a 7" in texts(alice)
    assert stored(evaluate(bob)) == 0 and "No drawings stored yet" in texts(bob)
    assert not [b for b in bob.button if b.label.startswith("Delete")]
    bob.switch_page("app_pages/draw.py").run()
    save_drawing(bob, 1)
    save_drawing(alice.switch_page("app_pages/draw.py").run(), 3)       # alice now has two
    assert stored(evaluate(alice)) == 2 and stored(evaluate(bob)) == 1
    assert len(folders(env)) == 2
    next(b for b in alice.button if b.label == "Delete").click().run()
    assert not alice.exception, alice.exception
    assert stored(evaluate(alice)) == 1 and stored(evaluate(bob)) == 1


def test_exports_hold_the_visitors_own_drawings_only(env):
    alice, bob = visit(), visit()
    save_drawing(alice, 7)
    save_drawing(bob, 1)
    for at, labels in ((alice, [7]), (bob, [1])):
        store = DrawingStore(env / "visitors" / visitor_folder(at))
        with np.load(io.BytesIO(store.export_npz())) as npz:
            assert npz["y"].tolist() == labels
        assert len(evaluate(at).get("download_button")) >= 1


def visitor_folder(at):
    return "s-" + at.session_state["visitor_token"]


def test_fine_tuning_uses_the_visitors_own_drawings(env):
    alice, bob = visit(), visit()
    save_drawing(alice, 7)
    save_drawing(alice.run(), 1)
    assert not [b for b in bob.run().button if b.label.startswith("Fine-tune")]     # nothing of alice's
    save_drawing(bob, 4)
    assert [b.label for b in alice.button if b.label.startswith("Fine-tune")] == ["Fine-tune on my 2 drawings"]
    assert [b.label for b in bob.button if b.label.startswith("Fine-tune")] == ["Fine-tune on my 1 drawing"]
    button(bob, "Fine-tune on my 1 drawing").click().run()
    assert not bob.exception, bob.exception
    assert bob.session_state["finetune_pending"]["n"] == 1
    assert "finetune_pending" not in alice.run().session_state


def test_saved_models_are_the_visitors_own_and_within_the_quota(env, app_env, monkeypatch):
    monkeypatch.setenv("CNN_MAX_MODELS", "1")
    alice, bob = visit(), visit()
    upload(alice, app_env, "mine.npz")
    save_as(alice, "mine")
    assert "Saved as **mine** in your models" in texts(alice)
    assert "saved:mine" in picker_options(alice) and "saved:mine" not in picker_options(bob)
    assert not list((app_env).glob("mine*.npz"))                     # nothing written into the shared weights/
    save_as(alice, "second")
    assert "you can keep 1 saved models here" in texts(alice)
    save_as(alice, "mine")                                           # replacing one's own is allowed
    assert "Saved as **mine**" in texts(alice)
    upload(bob, app_env, "mine.npz")
    save_as(bob, "mine")                                             # the same name, bob's own file
    assert "Saved as **mine**" in texts(bob)
    assert sorted(p.name for p in (env / "visitors").glob("*/models/*.npz")) == ["mine.npz", "mine.npz"]


def upload(at, weights, name):
    at.file_uploader(key="upload_model").set_value((name, (weights / "default.npz").read_bytes(),
                                                    "application/octet-stream")).run()
    assert not at.exception, at.exception
    return at


def save_as(at, name):
    next(t for t in at.sidebar.text_input if t.label == "Save as").set_value(name)
    next(b for b in at.sidebar.button if b.label.startswith("Save to")).click().run()
    assert not at.exception, at.exception


def picker_options(at):
    """The model picker's entries as "<kind>:<name>" (its labels read "<name> · ... · saved by you")."""
    kinds = {"saved by you": "saved", "trained here": "session"}
    return [kinds.get(label.rsplit(" · ", 1)[-1], "file") + ":" + label.split(" · ")[0]
            for label in at.selectbox(key="model_picker_draw").options]


def test_uploads_are_the_visitors_own_and_within_the_quotas(env, app_env, monkeypatch):
    monkeypatch.setenv("CNN_MAX_UPLOADS", "1")
    alice, bob = visit(), visit()
    upload(alice, app_env, "a.npz")
    assert "uploaded-a" in alice.session_state["session_models"]
    assert "session:uploaded-a" not in picker_options(bob.run())
    upload(alice, app_env, "b.npz")
    assert "you can use 1 uploaded models at a time" in texts(alice)
    assert "uploaded-b" not in alice.session_state["session_models"]
    next(b for b in alice.sidebar.button if b.label == "Remove").click().run()      # frees the place
    upload(alice, app_env, "c.npz")
    assert "uploaded-c" in alice.session_state["session_models"]
    size = (app_env / "default.npz").stat().st_size
    monkeypatch.setenv("CNN_MAX_UPLOADS_MB", str(1.5 * size / 2**20))          # room for one upload in all
    upload(bob, app_env, "b.npz")
    assert "the server holds as many uploaded models as it can" in texts(bob)


def test_models_held_in_memory_within_the_servers_bound_least_recently_used_dropped(env, app_env, monkeypatch):
    """CNN_MAX_HELD_MB bounds every session's models together: a new one drops the least recently used (another
    visitor's here), whose owner is told on their next run and offered the download, kept in their folder."""
    monkeypatch.setattr(held, "_held", OrderedDict())
    monkeypatch.setattr(held, "_dropped", {})
    alice, bob = visit(), visit()
    upload(alice, app_env, "a.npz")
    one = held.total_bytes()
    assert one > 0 and "uploaded-a" in alice.session_state["session_models"]
    monkeypatch.setenv("CNN_MAX_HELD_MB", str(1.5 * one / 2**20))             # room for one model in all
    upload(bob, app_env, "b.npz")
    assert "uploaded-b" in bob.session_state["session_models"] and held.total_bytes() == one
    assert "uploaded-a" not in alice.session_state["session_models"]          # dropped at once, memory freed
    alice.run()
    assert not alice.exception, alice.exception
    assert "uploaded-a" in texts(alice) and "dropped from the server's memory" in texts(alice)
    assert [b.label for b in alice.sidebar.get("download_button")] == ["Download .npz"]
    assert (env / "visitors" / visitor_folder(alice) / "dropped" / "uploaded-a.npz").is_file()
    assert alice.session_state["model_key"] != "session:uploaded-a"
    assert "dropped" not in texts(bob)
    next(b for b in alice.sidebar.button if b.label == "Dismiss").click().run()
    assert "dropped from the server's memory" not in texts(alice)


def test_stored_drawings_within_the_visitors_and_the_servers_quota(env, monkeypatch):
    monkeypatch.setenv("CNN_MAX_DRAWINGS", "1")
    alice = save_drawing(visit())
    save_drawing(alice, 3)
    assert "as many as this app keeps for a visitor" in texts(alice)
    monkeypatch.setenv("CNN_MAX_TOTAL_MB", str(0.9 * visitor.usage_bytes(env / "visitors") / 2**20))
    bob = save_drawing(visit())
    assert "the server's space for visitors' data is full" in texts(bob)
    assert stored(evaluate(alice)) == 1 and stored(evaluate(bob)) == 0


def test_stored_bytes_within_the_visitors_byte_quota(env, monkeypatch):
    """Beside the count, a visitor's bytes on disk: a drawing that could take their folder past CNN_MAX_VISITOR_MB
    (reckoned at the most one drawing costs) is refused, saying so; another visitor is not affected."""
    alice = save_drawing(visit())
    used = visitor.usage_bytes(env / "visitors" / visitor_folder(alice))
    monkeypatch.setenv("CNN_MAX_VISITOR_MB", str((used + MAX_ROW_BYTES - 1) / 2**20))   # room for bob, not her
    save_drawing(alice, 3)
    assert "a visitor may keep" in texts(alice) and stored(evaluate(alice)) == 1
    bob = save_drawing(visit())
    assert stored(evaluate(bob)) == 1


def test_expired_visitors_data_is_deleted_and_active_visitors_kept(env, monkeypatch):
    alice, bob = save_drawing(visit()), save_drawing(visit())
    old = time.time() - 25 * 3600                                   # past the 24-hour default
    os.utime(env / "visitors" / visitor_folder(alice) / visitor.SEEN, (old, old))
    assert expiry.sweep(force=True) == [visitor_folder(alice)]
    assert folders(env) == [visitor_folder(bob)]
    assert stored(evaluate(alice)) == 0 and stored(evaluate(bob)) == 1
    monkeypatch.setenv("CNN_EXPIRY_HOURS", "0.0001")                # the app sweeps by itself as visitors come
    monkeypatch.setenv("CNN_SWEEP_SECONDS", "0")
    time.sleep(0.5)
    visit()
    assert folders(env) == []


def test_a_signed_in_user_keeps_their_data_across_sessions(env):
    user = {"is_logged_in": True, "sub": "1234", "email": "ada@example.com", "name": "Ada"}
    save_drawing(visit(user))
    later, other = visit(user), visit(dict(user, sub="999", email="bob@example.com"))
    assert stored(evaluate(later)) == 1 and stored(evaluate(other)) == 0
    assert all("ada" not in name for name in folders(env))          # no e-mail in the server's paths
    assert "your sign-in (ada@example.com)" in texts(later.switch_page("app_pages/draw.py").run())


def test_public_mode_shows_no_error_details_nor_server_paths(env):
    at = save_drawing(visit())
    assert config.get_option("client.showErrorDetails") == "none"
    assert str(env) not in texts(evaluate(at))
    assert "nobody else using this app can see, load or delete it" in texts(at)


def test_local_mode_keeps_one_store_in_the_data_folder_and_saves_into_weights(app_env, tmp_path, monkeypatch):
    weights = tmp_path / "weights"
    weights.mkdir()
    (weights / "default.npz").write_bytes((app_env / "default.npz").read_bytes())
    monkeypatch.setenv("CNN_WEIGHTS_DIR", str(weights))
    monkeypatch.setenv("CNN_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CNN_PUBLIC", raising=False)
    shown = config.get_option("client.showErrorDetails")
    first, second = visit(), visit()
    save_drawing(first)
    assert DrawingStore(tmp_path / "data").count() == 1 and not (tmp_path / "data" / "visitors").exists()
    assert stored(evaluate(second)) == 1                             # one user, one store, as before
    assert str(tmp_path / "data") in texts(second)                   # the path is shown locally
    upload(first, weights, "mine.npz")
    save_as(first, "mine")
    assert "Saved as weights/mine.npz" in texts(first) and (weights / "mine.npz").exists()
    assert "file:mine" in picker_options(second.switch_page("app_pages/draw.py").run())
    assert config.get_option("client.showErrorDetails") == shown
