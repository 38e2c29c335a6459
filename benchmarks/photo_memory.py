"""What reading one photo costs in memory (issue 20): small files that decode to large images of every bit depth,
mode and format, each read by cnn.inputs.photo in a fresh process. Prints, per file, its size, the outcome, the
peak of Python and NumPy allocations (tracemalloc) and the process's peak resident memory above what it held with
the file's bytes read (VmHWM, reset just before; it also sees Pillow's own buffers). Linux only.

    python benchmarks/photo_memory.py [--root DIR]

--root reads the photos with another checkout's code (e.g. `git archive dcb3262 | tar -x -C /tmp/before`).
"""
import argparse
import io
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parents[1]
SIDE = 4000


def _digit(side, dtype=np.uint8, high=255):
    """A 7 drawn in `high` on 0, side x side, as `dtype` (compresses to almost nothing)."""
    a = np.zeros((side, side), dtype)
    s = side // 10
    a[2 * s:3 * s, 2 * s:8 * s] = high
    for r in range(3 * s, 8 * s):
        c = 8 * s - (r - 3 * s) // 2
        a[r, c - s // 2:c + s // 2] = high
    return a


def _rgba(gray):
    return np.dstack([gray, gray, gray, np.full_like(gray, 255)])


def hostile_photos():
    """{name: bytes}: each decodes to far more memory than its file takes."""
    def save(image, fmt, **kw):
        buf = io.BytesIO()
        image.save(buf, format=fmt, **kw)
        return buf.getvalue()
    gray16 = _digit(SIDE, np.uint16, 65535)
    ink = _digit(SIDE)
    rgba = _rgba(ink)
    return {
        "16-bit gray PNG 4000x4000": save(Image.fromarray(gray16), "PNG"),
        "float32 TIFF 4000x4000 (deflate)": save(Image.fromarray(gray16.astype(np.float32)), "TIFF",
                                                 compression="tiff_adobe_deflate"),
        "32-bit int TIFF 4000x4000 (deflate)": save(Image.fromarray(gray16.astype(np.int32)), "TIFF",
                                                    compression="tiff_adobe_deflate"),
        "RGBA PNG 4000x4000": save(Image.fromarray(rgba), "PNG"),
        "palette PNG with transparency 4000x4000": save(Image.fromarray(ink).convert("P"), "PNG", transparency=0),
        "1-bit PNG 6000x6000": save(Image.fromarray(_digit(6000)).convert("1"), "PNG"),
        "CMYK TIFF 4000x4000 (deflate)": save(Image.fromarray(rgba).convert("CMYK"), "TIFF",
                                              compression="tiff_adobe_deflate"),
        "gray PNG 4000x4000": save(Image.fromarray(ink), "PNG"),
        # just under the decoded-bytes bound (cnn/inputs/photo.py MAX_DECODED_BYTES): the most a photo is let cost
        "16-bit gray PNG 5200x5200": save(Image.fromarray(_digit(5200, np.uint16, 65535)), "PNG"),
        "float32 TIFF 3690x3690 (deflate)": save(Image.fromarray(_digit(3690, np.float32, 1.0)), "TIFF",
                                                 compression="tiff_adobe_deflate"),
        "RGBA PNG 2600x2600": save(Image.fromarray(_rgba(_digit(2600))), "PNG"),
        "palette PNG with transparency 2450x2450": save(Image.fromarray(_digit(2450)).convert("P"), "PNG",
                                                        transparency=0),
        "JPEG 6000x6000": save(Image.fromarray(_digit(6000)), "JPEG", quality=80),
    }


CHILD = """
import json, sys, tracemalloc
sys.path.insert(0, sys.argv[1])
from cnn.inputs.photo import photo_to_mnist_steps

def status(key):
    return next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith(key + ":"))

data = open(sys.argv[2], "rb").read()
photo_to_mnist_steps(b"not an image")                    # imports and first-call costs outside the measure
base = status("VmRSS")
open("/proc/self/clear_refs", "w").write("5")            # the peak (VmHWM) starts again from here
tracemalloc.start()
steps = photo_to_mnist_steps(data)
traced = tracemalloc.get_traced_memory()[1]
print(json.dumps({"read": steps["centred"] is not None, "reason": steps["reason"],
                  "tracemalloc_mb": traced / 2**20, "rss_above_mb": (status("VmHWM") - base) / 2**10}))
"""


def measure(root, data):
    with tempfile.NamedTemporaryFile(suffix=".img") as f:
        f.write(data)
        f.flush()
        out = subprocess.run([sys.executable, "-c", CHILD, str(root), f.name], capture_output=True, text=True,
                             check=True).stdout
    return json.loads(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=str(HERE))
    args = parser.parse_args()
    print(f"{'photo':42} {'file':>8} {'tracemalloc':>11} {'RSS above':>9}  outcome")
    for name, data in hostile_photos().items():
        r = measure(args.root, data)
        outcome = "read" if r["read"] else (r["reason"] or "")[:70]
        print(f"{name:42} {len(data) / 2**10:6.0f} kB {r['tracemalloc_mb']:8.1f} MB {r['rss_above_mb']:6.1f} MB  "
              f"{outcome}")


if __name__ == "__main__":
    main()
