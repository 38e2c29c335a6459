"""The user's own drawings and their true labels, in a local SQLite database (no Streamlit, no cnn).

The database is drawings.sqlite3 in the per-user data folder: CNN_DATA_DIR when set, else the
platform's user data folder (~/.local/share/cnn-from-scratch on Linux). Never inside the repository.
Every call opens its own connection (WAL journal, a busy timeout), so threads and processes can
write at once.
"""
import io
import os
import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import platformdirs
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
DB_NAME = "drawings.sqlite3"
SIDE = 28
KEPT_SIDE = 140           # the drawing is kept at most this many pixels wide and high, in gray levels
# What one stored drawing costs at most, whatever the client sent: the 28x28 input (3,136 bytes), a gray PNG of at most
# 140x140 (19,600 bytes of pixels; PNG adds at most a filter byte per row and its headers) and SQLite's row overhead.
MAX_ROW_BYTES = 32 * 2**10
SCHEMA = """CREATE TABLE IF NOT EXISTS drawings (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    created TEXT    NOT NULL,                               -- ISO 8601, UTC
    label   INTEGER NOT NULL CHECK (label BETWEEN 0 AND 9), -- the digit the user says it is
    x       BLOB    NOT NULL,                               -- the 28x28 network input, float32 bytes
    canvas  BLOB,                                           -- the drawing, gray PNG of at most 140x140
    model   TEXT                                            -- the model in use when it was stored
)"""


class StoreError(RuntimeError):
    """The drawings database cannot be used; the message says where it is and what to do."""


def data_dir():
    """CNN_DATA_DIR, else the platform's per-user data folder; refused when inside the repository."""
    folder = Path(os.environ.get("CNN_DATA_DIR") or platformdirs.user_data_dir("cnn-from-scratch", appauthor=False))
    folder = folder.expanduser().resolve()
    if folder == REPO or REPO in folder.parents:
        raise StoreError(f"the data folder {folder} is inside the app's repository; set CNN_DATA_DIR to a "
                         "folder outside it, so your drawings are never committed")
    return folder


def png_bytes(image):
    """A uint8 image, gray (H, W), RGB (H, W, 3) or RGBA (H, W, 4) -> PNG bytes."""
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def kept_png(image):
    """A uint8 image of any size (gray, RGB or RGBA, as png_bytes) -> the gray PNG bytes kept with a drawing: at most
    KEPT_SIDE pixels on either side, so its size is bounded whatever the client drew."""
    small = Image.fromarray(np.ascontiguousarray(image, dtype=np.uint8)).convert("L")
    small.thumbnail((KEPT_SIDE, KEPT_SIDE), Image.BOX)
    return png_bytes(np.asarray(small))


def png_array(data):
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGBA"))


class DrawingStore:
    def __init__(self, folder=None):
        self.folder = Path(folder) if folder is not None else data_dir()
        self.path = self.folder / DB_NAME

    def _connect(self):
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=10)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(SCHEMA)
            return conn
        except (OSError, sqlite3.Error) as e:
            raise StoreError(f"cannot open the drawings database {self.path} ({e}). Check that the folder is "
                             "writable, or set CNN_DATA_DIR to another folder; move a damaged file away.") from None

    def _run(self, sql, args=()):
        """Run one statement in its own connection and transaction; rows for a query, else the last row id."""
        with closing(self._connect()) as conn:
            try:
                with conn:
                    cur = conn.execute(sql, args)
                    return cur.fetchall() if cur.description else cur.lastrowid
            except sqlite3.Error as e:
                raise StoreError(f"the drawings database {self.path} failed: {e}. Try again; if it keeps failing "
                                 "move the file away (a new one is created).") from None

    def add(self, x, label, canvas=None, model=None):
        """Store one drawing: x the (28, 28) input in [0, 1], label 0-9, canvas the image it came from (kept small,
        in gray levels: kept_png). -> its id."""
        x = np.asarray(x, dtype=np.float32)
        if x.shape != (SIDE, SIDE) or not np.isfinite(x).all():
            raise ValueError(f"a drawing must be a finite 28x28 image, got shape {x.shape}")
        if not isinstance(label, (int, np.integer)) or not 0 <= label <= 9:
            raise ValueError(f"the label must be a digit from 0 to 9, got {label!r}")
        created = datetime.now(UTC).isoformat(timespec="seconds")
        png = None if canvas is None else kept_png(canvas)
        return self._run("INSERT INTO drawings (created, label, x, canvas, model) VALUES (?, ?, ?, ?, ?)",
                         (created, int(label), x.tobytes(), png, None if model is None else str(model)[:128]))

    def count(self):
        if not self.path.exists():               # nothing saved yet: create no file just to count
            return 0
        return self._run("SELECT COUNT(*) FROM drawings")[0][0]

    def list(self):
        """[{id, created, label, model}] oldest first, without the images."""
        rows = self._run("SELECT id, created, label, model FROM drawings ORDER BY id")
        return [dict(zip(("id", "created", "label", "model"), r, strict=True)) for r in rows]

    def get(self, drawing_id):
        """{id, created, label, model, x (28, 28) float32, canvas (h, w, 4) uint8 (at most 140x140) or None}."""
        rows = self._run("SELECT id, created, label, model, x, canvas FROM drawings WHERE id = ?", (drawing_id,))
        if not rows:
            return None
        i, created, label, model, x, canvas = rows[0]
        return {"id": i, "created": created, "label": label, "model": model, "x": _x_array(x),
                "canvas": None if canvas is None else png_array(canvas)}

    def arrays(self):
        """(ids (N,), x (N, 28, 28) float32, y (N,) uint8) of every drawing, oldest first."""
        rows = self._run("SELECT id, x, label FROM drawings ORDER BY id") if self.path.exists() else []
        ids = np.array([r[0] for r in rows], np.int64)
        x = np.array([_x_array(r[1]) for r in rows], np.float32).reshape(-1, SIDE, SIDE)
        return ids, x, np.array([r[2] for r in rows], np.uint8)

    def delete(self, drawing_id):
        self._run("DELETE FROM drawings WHERE id = ?", (drawing_id,))

    def clear(self):
        self._run("DELETE FROM drawings")

    def export_npz(self):
        """The drawings as .npz bytes: x (N, 28, 28) float32 in [0, 1], y (N,) uint8."""
        _, x, y = self.arrays()
        buf = io.BytesIO()
        np.savez_compressed(buf, x=x, y=y)
        return buf.getvalue()


def _x_array(blob):
    if len(blob) != SIDE * SIDE * 4:
        raise StoreError(f"a stored drawing is damaged ({len(blob)} bytes instead of {SIDE * SIDE * 4})")
    return np.frombuffer(blob, np.float32).reshape(SIDE, SIDE).copy()
