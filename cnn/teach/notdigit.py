"""Is this a digit at all? One decision for every page and every model: cnn.not_a_digit(model, images).

A digit classifier answers one of ten digits for anything, often at 99%: its softmax, calibrated or not,
and distances in its own feature space flag few drawings of things it never saw (README, "Not a digit").
So the question is put to a second, small network of this project's own engine (weights/notdigit.npz) that
was trained on MNIST digits and canvas digit drawings against generated non-digits (cnn/studies/doodles.py:
letters, doodles, symbols, several digits, random tangles), with whole kinds held out to measure it
(python -m cnn notdigit). Its threshold is set on digits only, stored in its metadata ("outlier"). Since it
looks at the 28x28 input alone, every model the app can hold (shipped, trained in the sidebar, fine-tuned,
uploaded) gets the same answer for the same input at no cost of its own.

Beside it, two plain checks of the input: no ink or ink everywhere, and two pieces side by side (a number:
"one digit at a time").
"""
from functools import lru_cache
from pathlib import Path

import numpy as np

DETECTOR_PATH = Path(__file__).resolve().parents[2] / "weights" / "notdigit.npz"
FILLED = 0.7          # a 28x28 input whose ink box is this full of ink is a blot, not a stroke
BLOT_SIDE = 10        # ... when the box is at least this wide and high (a 1 fills its narrow box)
SIDE_BY_SIDE = 0.25   # two pieces each with this share of the ink, one right of the other: two digits


class NoDetector(RuntimeError):
    """The detector's weights file is missing or unusable: no page can tell digits from non-digits."""


@lru_cache(maxsize=1)
def detector(path=DETECTOR_PATH):
    """The detector network (a cnn Model whose output 1 means "not a digit") and its threshold."""
    from cnn.files.weights import WeightsError, load_model
    try:
        net = load_model(path)
        return net, float(net.meta["outlier"]["threshold"])
    except (WeightsError, OSError, KeyError) as e:
        raise NoDetector(f"the not-a-digit detector cannot be read ({type(e).__name__})") from None


def scores(images, net=None):
    """(N, 28, 28) inputs -> (N,) float: how far from a digit each looks (the detector's logit of "not a digit"
    minus that of "digit"); above the threshold means not a digit."""
    net = net or detector()[0]
    x = _batch(images)
    logits = net.logits(x).astype(np.float64)
    return logits[:, 1] - logits[:, 0]


def canvas_problem(rgba):
    """ink_problem of a canvas drawing (RGBA, H x W), or None."""
    from cnn.inputs.canvas import canvas_to_mnist_steps
    steps = canvas_to_mnist_steps(rgba)
    return ink_problem(steps["centred"], steps["cropped"], max(np.shape(rgba)[:2]))


def not_a_digit(model, images):
    """(N,) bool: True for each 28x28 input (uint8 0-255 or float 0-1) that is not one digit: the detector's
    score above its threshold, no ink or ink everywhere, or two digits side by side. `model` is the network
    whose guess is judged; the decision does not depend on it (see the module's docstring), so every model
    the app holds gets the same answer."""
    del model
    x = _batch(images)
    net, threshold = detector()
    return (scores(x, net) > threshold) | blot(x) | two_digits(x)


def blot(images):
    """(N,) bool: no ink at all, or a wide ink box more than FILLED full (a dot, a filled canvas)."""
    ink = _batch(images) > 0.5
    out = np.zeros(len(ink), bool)
    for i, m in enumerate(ink):
        rows, cols = np.flatnonzero(m.any(1)), np.flatnonzero(m.any(0))
        h, w = (np.ptp(rows) + 1, np.ptp(cols) + 1) if len(rows) else (0, 0)
        out[i] = not len(rows) or (min(h, w) >= BLOT_SIDE and m.sum() > FILLED * h * w)
    return out


def two_digits(images):
    """(N,) bool: two (or more) separate pieces of ink, each at least SIDE_BY_SIDE of the ink, whose columns
    do not overlap: digits written next to each other (a 5's bar or a broken 4 overlap in their columns)."""
    x = _batch(images)
    out = np.zeros(len(x), bool)
    for i, img in enumerate(x):
        labels = _pieces(img > 0.3)
        mass = [(img[labels == k].sum(), np.flatnonzero((labels == k).any(0))) for k in range(1, labels.max() + 1)]
        big = sorted((cols.min(), cols.max()) for m, cols in mass if m >= SIDE_BY_SIDE * img.sum())
        out[i] = any(b[0] > a[1] for a, b in zip(big, big[1:], strict=False))
    return out


def _pieces(mask):
    """8-connected pieces of a small bool image, labelled 1..k (0 is background)."""
    labels = np.zeros(mask.shape, int)
    k = 0
    for y, x in zip(*np.nonzero(mask), strict=True):
        if labels[y, x]:
            continue
        k += 1
        stack = [(y, x)]
        labels[y, x] = k
        while stack:
            cy, cx = stack.pop()
            for ny in range(max(cy - 1, 0), min(cy + 2, mask.shape[0])):
                for nx in range(max(cx - 1, 0), min(cx + 2, mask.shape[1])):
                    if mask[ny, nx] and not labels[ny, nx]:
                        labels[ny, nx] = k
                        stack.append((ny, nx))
    return labels


def _batch(images):
    x = np.asarray(images)
    x = x[None] if x.ndim == 2 else x
    if x.ndim != 3 or x.shape[1:] != (28, 28):
        raise ValueError(f"expected 28x28 images, got shape {x.shape}")
    return x.astype(np.float32) / 255 if x.dtype == np.uint8 else x.astype(np.float32)


def verdict(model, image):
    """What a page says about one 28x28 input: {"kind": "digit" | "not sure" | "not a digit" | "one digit at a
    time", "digit": the best guess, "probs": calibrated probabilities (10,), "score": the detector's score,
    "threshold": its threshold}. "not sure": a digit-like input that no digit reaches NOT_SURE_BELOW for."""
    from cnn.teach import calibration
    x = _batch(image)[:1]
    net, threshold = detector()
    probs = calibration.calibrated(model.predict_proba(x)[0], calibration.temperature(model))
    score = float(scores(x, net)[0])
    if two_digits(x)[0]:
        kind = "one digit at a time"
    elif score > threshold or blot(x)[0]:
        kind = "not a digit"
    else:
        kind = "not sure" if calibration.not_sure(probs) else "digit"
    return {"kind": kind, "digit": int(probs.argmax()), "probs": probs, "score": score, "threshold": threshold}


def ink_problem(x28, cropped, side):
    """What is wrong with a canvas drawing that is not strokes of a digit, in words for the visitor, or None:
    x28 is its 28x28 input, cropped its ink (the canvas pixels in the ink's box), side the canvas's side."""
    if x28 is None:
        return None
    h, w = np.shape(cropped)
    if max(h, w) < 0.15 * side:
        return "That is a dot, too small to read: draw the digit larger, over most of the canvas's height."
    if not blot(x28)[0]:
        return None
    if h * w > 0.8 * side * side:
        return "The canvas is nearly all ink: clear it (the bin icon above it) and draw one digit with lines."
    return "That is a blot of ink, not strokes: clear the canvas and draw the digit with lines."
