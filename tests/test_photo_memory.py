"""Reading a photo is bounded by memory, not only pixels (issue 20): files of a few kB that decode to large images of
every bit depth, mode and format (benchmarks/photo_memory.py makes them) each cost at most 64 MB while read, or are
refused from their header with a message saying what to send. Measured two ways: NumPy's and Python's allocations
(tracemalloc, in this process) and the process's whole peak (VmHWM, reset before each file, in a fresh process, which
also sees Pillow's buffers)."""
import json
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

from cnn.inputs.photo import photo_to_mnist_steps

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from photo_memory import hostile_photos  # noqa: E402

BOUND_MB = 64


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("photos")
    paths = {}
    for i, (name, data) in enumerate(hostile_photos().items()):
        paths[name] = folder / f"{i}.img"
        paths[name].write_bytes(data)
    return paths


def test_every_photo_is_read_or_refused_within_64_mb_of_allocations(photos):
    outcomes = {}
    for name, path in photos.items():
        data = path.read_bytes()
        tracemalloc.start()
        steps = photo_to_mnist_steps(data)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert peak < BOUND_MB * 2**20, (name, peak / 2**20)
        outcomes[name] = steps["centred"] is not None or steps["reason"]
    assert outcomes["16-bit gray PNG 4000x4000"] is True and outcomes["JPEG 6000x6000"] is True   # still read
    assert "more than the" in outcomes["float32 TIFF 4000x4000 (deflate)"]                       # refused, saying so
    assert sum(o is True for o in outcomes.values()) >= 6


CHILD = """
import json, sys
from cnn.inputs.photo import photo_to_mnist_steps

def status(key):
    return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith(key + ":"))

photo_to_mnist_steps(b"not an image")
peaks = {}
for name, path in json.loads(sys.argv[1]).items():
    data = open(path, "rb").read()
    base = status("VmRSS")
    open("/proc/self/clear_refs", "w").write("5")
    photo_to_mnist_steps(data)
    peaks[name] = (status("VmHWM") - base) / 2**10
print(json.dumps(peaks))
"""


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="Linux's peak resident memory is needed")
def test_every_photo_costs_the_process_at_most_64_mb(photos):
    out = subprocess.run([sys.executable, "-c", CHILD, json.dumps({n: str(p) for n, p in photos.items()})],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    peaks = json.loads(out)
    assert set(peaks) == set(photos)
    assert max(peaks.values()) < BOUND_MB, peaks
