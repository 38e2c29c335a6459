"""Photos of handwriting that is not MNIST's: photo_to_mnist against a ten-line baseline on the same images.

The outside yardstick is UCI optdigits (1,797 digits by 43 writers, bundled with scikit-learn: 8x8, 17 grey
levels), shown as photos; the same conditions are built from MNIST TEST digits, which are what photo_to_mnist's
thresholds may be tuned on (optdigits is only measured). Conditions: the digit filling the picture (a tightly
cropped photo) or with margins, dark ink on light paper or light on dark, 224 px or only 40 px, and a thin pen
(the digit thinned to a one-pixel skeleton, then drawn 1.3% of its height wide, on white paper): MNIST digits
only, as an 8x8 optdigits digit's skeleton is not its shape (loops closed at 8x8 are lost). Every image
depends only on (seed, source, condition, index). scikit-learn is needed for optdigits only.

    python -m cnn photobench --outside --model weights/default.npz
"""
import zlib

import numpy as np
from PIL import Image, ImageFilter

from cnn.inputs.canvas import BOX, ink_box, place_by_mass, resize_area
from cnn.inputs.photo import photo_to_mnist
from cnn.teach.evaluation import accuracy_of_inputs

# name -> settings of photo(); "tight": the ink touches the picture's edges, "margins": 30% of it is paper
CONDITIONS = {
    "tight, dark on light": {},
    "tight, light on dark": {"light": True},
    "margins, dark on light": {"margin": 0.3},
    "margins, light on dark": {"margin": 0.3, "light": True},
    "40 px, tight": {"size": 40},
    "40 px, margins": {"size": 40, "margin": 0.3},
    "thin pen, tight": {"thin": True},
    "thin pen, margins": {"thin": True, "margin": 0.3},
    "thin pen, 40 px": {"thin": True, "size": 40, "margin": 0.2},
}


def baseline(gray):
    """The ten-line baseline: grey (h, w) in [0, 1] -> 28x28, or None. Invert when the median is bright,
    crop the ink's box, box-resize the longer side to 20 px keeping the aspect, centre by mass in 28x28."""
    g = np.asarray(gray, np.float32)
    ink = 1 - g if np.median(g) > 0.5 else g
    ink = np.clip(ink - np.median(ink), 0, None)
    if ink.max() <= 0:
        return None
    ink = ink / ink.max()
    box = ink_box(ink > 0.2)
    digit = ink[box]
    h, w = digit.shape
    scale = BOX / max(h, w)
    return place_by_mass(np.clip(resize_area(digit, max(1, round(h * scale)), max(1, round(w * scale))), 0, 1))


def photo(ink, rng, size=224, margin=0.0, light=False, thin=False):
    """Ink (h, w) in [0, 1], bright -> a grey photo (size, size) uint8: the digit's box, its longer side
    (1 - margin) of the picture, at a random place; dark ink on light paper (or light on dark)."""
    ink = np.clip(np.asarray(ink, np.float32), 0, 1)[ink_box(ink > 0.05)]
    h, w = ink.shape
    side = max(8, round(size * (1 - margin)))
    scale = side / max(h, w)
    hh, ww = max(1, round(h * scale)), max(1, round(w * scale))
    big = Image.fromarray(ink, "F").resize((ww, hh), Image.BICUBIC)
    a = np.clip(np.asarray(big, np.float32), 0, 1)
    if thin:                                                            # a fine pen: the skeleton, redrawn
        width = max(1, round(0.013 * hh))
        skeleton = Image.fromarray(np.uint8(skeletonize(a > 0.5)) * 255, "L")
        if width > 1:
            skeleton = skeleton.filter(ImageFilter.MaxFilter(2 * (width // 2) + 1))
        a = np.asarray(skeleton.filter(ImageFilter.GaussianBlur(0.5)), np.float32) / 255
    page = np.zeros((size, size), np.float32)
    top, left = int(rng.integers(0, size - hh + 1)), int(rng.integers(0, size - ww + 1))
    page[top:top + hh, left:left + ww] = a
    paper, pen = (rng.uniform(0.05, 0.2), rng.uniform(0.75, 0.95)) if light else \
        (rng.uniform(0.8, 0.97), rng.uniform(0.03, 0.3))
    if thin:
        paper = 1.0 if not light else 0.0
    return np.uint8(np.clip(paper + (pen - paper) * page, 0, 1) * 255 + 0.5)


def skeletonize(mask):
    """Zhang-Suen thinning of a bool (h, w) array to one-pixel-wide lines, as whole-array steps."""
    m = np.pad(mask, 1).astype(np.uint8)
    while True:
        changed = False
        for step in (0, 1):
            c = m[1:-1, 1:-1]
            p = [m[:-2, 1:-1], m[:-2, 2:], m[1:-1, 2:], m[2:, 2:], m[2:, 1:-1], m[2:, :-2], m[1:-1, :-2], m[:-2, :-2]]
            b = sum(q.astype(np.int32) for q in p)
            a = sum(((p[i] == 0) & (p[(i + 1) % 8] == 1)).astype(np.int32) for i in range(8))
            n, e, s, w = p[0], p[2], p[4], p[6]
            side = (n * e * s == 0) & (e * s * w == 0) if step == 0 else (n * e * w == 0) & (n * s * w == 0)
            drop = (c == 1) & (b >= 2) & (b <= 6) & (a == 1) & side
            if drop.any():
                m[1:-1, 1:-1][drop] = 0
                changed = True
        if not changed:
            return m[1:-1, 1:-1].astype(bool)


def sources(n=None, seed=0, names=("optdigits", "MNIST test")):
    """-> {name: (ink images, each (h, w) in [0, 1], labels)}: all of optdigits (or n of them drawn at random)
    and n MNIST test digits (default 500) drawn at random (the full test set if MNIST_DIR or the cache has it,
    else the committed subset's)."""
    out = {}
    if "optdigits" in names:
        from sklearn.datasets import load_digits
        d = load_digits()
        pick = np.arange(len(d.target)) if n is None else \
            np.random.default_rng(seed).choice(len(d.target), min(n, len(d.target)), replace=False)
        out["optdigits"] = (d.images[pick].astype(np.float32) / 16, d.target[pick])
    if "MNIST test" in names:
        from cnn.files.mnist import MnistError, load_mnist, load_subset
        try:
            x, y = load_mnist()[2:]
        except MnistError:
            x, y = load_subset()[2:]
        pick = np.random.default_rng([seed, 1]).choice(len(y), min(n or 500, len(y)), replace=False)
        out["MNIST test"] = (x[pick].astype(np.float32) / 255, y[pick])
    return out


def measure(model, n=None, seed=0, conditions=CONDITIONS, names=("optdigits", "MNIST test"), callback=None):
    """-> {(source, condition): (n, photo_to_mnist accuracy, baseline accuracy)}; a refused image is wrong."""
    results = {}
    for source, (images, labels) in sources(n, seed, names).items():
        for name, settings in conditions.items():
            if settings.get("thin") and source == "optdigits":
                continue
            c = zlib.crc32(f"{source} {name}".encode())
            photos = [photo(img, np.random.default_rng([seed, c, i]), **settings) for i, img in enumerate(images)]
            accs = [accuracy_of_inputs(model, [f(p) for p in photos], labels)
                    for f in (photo_to_mnist, lambda p: baseline(p / np.float32(255)))]
            results[source, name] = (len(labels), *accs)
            if callback:
                callback(source, name, results[source, name])
    return results


def report(model, n=None, seed=0):
    """Print the table: source, condition, n, photo_to_mnist accuracy, baseline accuracy."""
    print(f"{'source':<11} {'condition':<24} {'n':>5} {'photo_to_mnist':>14} {'baseline':>9}")

    def show(source, name, r):
        print(f"{source:<11} {name:<24} {r[0]:5d} {100 * r[1]:13.1f}% {100 * r[2]:8.1f}%", flush=True)

    return measure(model, n, seed, callback=show)
