"""The SQLite store of the user's drawings (ui/core/store.py)."""
import io
import sqlite3
import threading
from pathlib import Path

import numpy as np
import pytest

from ui.core import store
from ui.core.store import DrawingStore, StoreError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def drawings(tmp_path):
    return DrawingStore(tmp_path / "data")


def image(seed):
    return np.random.default_rng(seed).uniform(0, 1, (28, 28)).astype(np.float32)


def canvas(seed):
    return np.random.default_rng(seed).integers(0, 256, (280, 280, 4), dtype=np.uint8)


def test_round_trip(drawings):
    assert drawings.count() == 0 and len(drawings.arrays()[1]) == 0
    assert not drawings.folder.exists()                                # looking creates no file
    assert drawings.list() == []
    first = drawings.add(image(0), 7, canvas=canvas(0), model="file:default")
    second = drawings.add(image(1), np.int64(3))
    assert drawings.count() == 2
    got = drawings.get(first)
    np.testing.assert_array_equal(got["x"], image(0))
    assert got["canvas"].shape == (140, 140, 4)                         # kept small, in gray levels
    assert got["label"] == 7 and got["model"] == "file:default" and got["created"].endswith("+00:00")
    assert drawings.get(second)["canvas"] is None
    assert [d["label"] for d in drawings.list()] == [7, 3]
    ids, x, y = drawings.arrays()
    assert list(ids) == [first, second] and x.shape == (2, 28, 28) and list(y) == [7, 3]
    drawings.delete(first)
    assert drawings.count() == 1 and drawings.get(first) is None
    drawings.clear()
    assert drawings.count() == 0


def test_export_npz(drawings):
    for i in range(3):
        drawings.add(image(i), i + 4)
    with np.load(io.BytesIO(drawings.export_npz()), allow_pickle=False) as npz:
        assert sorted(npz.files) == ["x", "y"]
        assert npz["x"].shape == (3, 28, 28) and npz["x"].dtype == np.float32
        assert npz["y"].dtype == np.uint8 and list(npz["y"]) == [4, 5, 6]
        np.testing.assert_array_equal(npz["x"][1], image(1))


def test_export_of_an_empty_store(drawings):
    with np.load(io.BytesIO(drawings.export_npz())) as npz:
        assert npz["x"].shape == (0, 28, 28) and npz["y"].shape == (0,)


@pytest.mark.parametrize("x, label, message", [
    (np.zeros((28, 27)), 1, "28x28"), (np.full((28, 28), np.nan), 1, "finite"),
    (np.zeros((28, 28)), 10, "digit"), (np.zeros((28, 28)), -1, "digit"), (np.zeros((28, 28)), "7", "digit")])
def test_bad_drawings_are_refused(drawings, x, label, message):
    with pytest.raises(ValueError, match=message):
        drawings.add(x, label)
    assert drawings.count() == 0


def test_concurrent_writes_from_two_threads(drawings):
    errors, per_thread = [], 40

    def write(label):
        try:
            for i in range(per_thread):
                drawings.add(image(i), label, canvas=canvas(i) if i % 10 == 0 else None)
        except Exception as e:       # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=write, args=(label,)) for label in (1, 2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    _, x, y = drawings.arrays()
    assert len(x) == 2 * per_thread and np.bincount(y, minlength=3)[1:3].tolist() == [per_thread, per_thread]
    with sqlite3.connect(drawings.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_data_folder_is_configurable(tmp_path, monkeypatch):
    monkeypatch.setenv("CNN_DATA_DIR", str(tmp_path / "mine"))
    assert store.data_dir() == (tmp_path / "mine").resolve()
    DrawingStore().add(image(0), 1)
    assert (tmp_path / "mine" / store.DB_NAME).is_file()


def test_default_data_folder_is_outside_the_repository(monkeypatch):
    monkeypatch.delenv("CNN_DATA_DIR", raising=False)
    folder = store.data_dir()
    assert folder.name == "cnn-from-scratch" and ROOT not in folder.parents and folder != ROOT


@pytest.mark.parametrize("inside", [".", "weights", "tests/../data"])
def test_a_data_folder_inside_the_repository_is_refused(monkeypatch, inside):
    monkeypatch.setenv("CNN_DATA_DIR", str(ROOT / inside))
    with pytest.raises(StoreError, match="inside the app's repository"):
        store.data_dir()


def test_a_damaged_database_gives_a_clear_error(tmp_path):
    (tmp_path / store.DB_NAME).write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="move"):
        DrawingStore(tmp_path).count()


def test_a_stored_drawing_costs_at_most_32_kb_whatever_the_canvas(drawings):
    """Noise in every pixel of a 280x280 RGBA canvas (the worst a client can send: it took 260-270 kB before) and of a
    larger image: the file grows by at most store.MAX_ROW_BYTES per drawing, and the drawing is kept recognisable."""
    drawings.add(image(0), 1, canvas=canvas(0))                           # the file, its tables and journal exist
    before, n = file_bytes(drawings), 20
    rng = np.random.default_rng(1)
    for i in range(n):
        noisy = rng.integers(0, 256, (280 if i % 2 else 1000, 280, 4), dtype=np.uint8)
        drawings.add(image(i), i % 10, canvas=noisy, model="session:" + "m" * 10_000)
    per_drawing = (file_bytes(drawings) - before) / n
    assert per_drawing <= store.MAX_ROW_BYTES, per_drawing
    ink = np.zeros((280, 280, 4), np.uint8)
    ink[40:240, 130:150] = 255
    kept = drawings.get(drawings.add(image(0), 1, canvas=ink))
    assert kept["canvas"].shape == (140, 140, 4) and kept["canvas"][20:120, 66:74, 0].min() == 255
    assert len(drawings.list()[-1]["model"] or "") <= 128


def file_bytes(drawings):
    drawings._run("PRAGMA wal_checkpoint(TRUNCATE)")
    return sum(p.stat().st_size for p in drawings.folder.iterdir())
