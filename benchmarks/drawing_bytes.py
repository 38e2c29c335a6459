"""What one stored drawing costs on disk (issue 20): 50 drawings whose canvas is noise in every pixel (the worst a
client can send; an ordinary drawing compresses far better), stored through DrawingStore; prints the bytes the
database grew by per drawing.

    python benchmarks/drawing_bytes.py [--root DIR]

--root uses another checkout's store (e.g. `git archive dcb3262 | tar -x -C /tmp/before`).
"""
import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--root", default=str(Path(__file__).resolve().parents[1]))
args = parser.parse_args()
sys.path.insert(0, args.root)
from ui.core.store import DrawingStore  # noqa: E402

store, rng = DrawingStore(Path(tempfile.mkdtemp()) / "data"), np.random.default_rng(0)
x = rng.uniform(0, 1, (28, 28)).astype(np.float32)


def size():
    store._run("PRAGMA wal_checkpoint(TRUNCATE)")
    return sum(p.stat().st_size for p in store.folder.iterdir())


store.add(x, 1, canvas=rng.integers(0, 256, (280, 280, 4), dtype=np.uint8))     # the file and its tables exist
before, n = size(), 50
for _ in range(n):
    store.add(x, 1, canvas=rng.integers(0, 256, (280, 280, 4), dtype=np.uint8), model="file:default")
print(f"{args.root}: {(size() - before) / n:,.0f} bytes on disk per drawing (noisy 280x280 RGBA canvas)")
