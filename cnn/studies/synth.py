"""Synthetic canvas drawings of the digits 0-9, and the accuracy of
canvas_to_mnist plus a model on them.

Each digit has a few stroke templates in a unit box (x right, y down), the
ways people write it (1 with or without a flag, 7 with or without a bar, open
or closed 4, ...). A drawing jitters the control points, scales, stretches,
slants, rotates and places the digit, then paints it with a round brush the way
the app's canvas does: white on black, RGBA uint8 (H, W, 4), alpha 255.

    python -m cnn synth --model weights/default.npz --n 100
"""
import argparse
import time

import numpy as np
from PIL import Image, ImageDraw

from cnn.inputs.canvas import canvas_to_mnist


def _spline(*pts, n=24):
    """Catmull-Rom curve through the points, n samples per span."""
    p = np.array(pts, float)                       # (k, 2)
    p = np.vstack([2 * p[0] - p[1], p, 2 * p[-1] - p[-2]])
    t = np.linspace(0, 1, n, endpoint=False)[:, None]
    spans = [0.5 * (2 * p[i] + (p[i + 1] - p[i - 1]) * t
                    + (2 * p[i - 1] - 5 * p[i] + 4 * p[i + 1] - p[i + 2]) * t ** 2
                    + (3 * p[i] - p[i - 1] - 3 * p[i + 1] + p[i + 2]) * t ** 3)
             for i in range(1, len(p) - 2)]
    return np.vstack(spans + [p[-2:-1]])           # (n * (k - 1) + 1, 2)


def _line(*pts):
    return np.array(pts, float)


def _arc(cx, cy, rx, ry, a0, a1, n=48):
    """Ellipse arc from angle a0 to a1 in degrees (0 = right, 90 = down)."""
    a = np.radians(np.linspace(a0, a1, n))
    return np.stack([cx + rx * np.cos(a), cy + ry * np.sin(a)], axis=1)


def _join(*pieces):
    return np.vstack(pieces)


# TEMPLATES[digit] = list of (weight, width/height, function(j) -> list of strokes);
# j(x, y) jitters a control point. A stroke is an (n, 2) array of points.
TEMPLATES = {
    0: [(3, 0.85, lambda j: [_arc(*j(.5, .5), .5, .5, -100, -470)]),
        (2, 0.8, lambda j: [_spline(j(.6, .02), j(.2, .15), j(.02, .55), j(.25, .95), j(.65, .97),
                                    j(.95, .6), j(.85, .15), j(.5, .0), j(.3, .08))]),
        (1, 0.8, lambda j: [_arc(*j(.5, .5), .5, .5, -70, -400)])],                  # left open
    1: [(5, 0.1, lambda j: [_line(j(.5, 0), j(.5, 1))]),
        (3, 0.35, lambda j: [_line(j(.1, .28), j(.75, 0), j(.75, 1))]),
        (1, 0.6, lambda j: [_line(j(.2, .25), j(.55, 0), j(.55, 1)), _line(j(.1, 1), j(1, 1))])],
    2: [(4, 0.82, lambda j: [_join(_spline(j(.05, .25), j(.4, 0), j(.85, .1), j(.85, .4),
                                           j(.45, .75), j(.02, 1)), _line(j(.02, 1), j(1, .98)))]),
        (2, 0.82, lambda j: [_spline(j(.05, .25), j(.4, 0), j(.85, .1), j(.8, .45), j(.35, .78),
                                     j(.1, .95), j(.3, 1), j(.4, .85), j(.25, .85), j(.45, .98),
                                     j(1, .95))]),
        (1, 0.82, lambda j: [_spline(j(.05, .25), j(.4, 0), j(.85, .1), j(.85, .4), j(.45, .75),
                                     j(.05, 1), j(.5, .9), j(1, 1))])],
    3: [(4, 0.7, lambda j: [_join(_spline(j(.05, .12), j(.45, 0), j(.85, .12), j(.8, .38), j(.4, .47)),
                                  _spline(j(.4, .47), j(.9, .6), j(.9, .88), j(.5, 1), j(.02, .88)))]),
        (2, 0.7, lambda j: [_join(_line(j(.05, 0), j(.9, 0), j(.4, .4)),
                                  _spline(j(.4, .4), j(.85, .52), j(.95, .78), j(.6, 1), j(.02, .88)))]),
        (2, 0.7, lambda j: [_spline(j(.05, .15), j(.45, 0), j(.85, .15), j(.75, .4), j(.35, .5)),
                            _spline(j(.4, .45), j(.9, .62), j(.85, .9), j(.45, 1), j(.02, .85))])],
    4: [(3, 0.8, lambda j: [_line(j(.15, 0), j(.05, .62), j(1, .62)), _line(j(.72, .1), j(.72, 1))]),
        (3, 0.8, lambda j: [_line(j(.65, 0), j(.02, .68), j(1, .68)), _line(j(.68, .02), j(.7, 1))]),
        (2, 0.8, lambda j: [_line(j(.7, 1), j(.68, 0), j(.02, .66), j(1, .68))])],
    5: [(3, 0.82, lambda j: [_join(_line(j(.22, 0), j(.15, .45)),
                                   _spline(j(.15, .45), j(.5, .35), j(.9, .55), j(.85, .85),
                                           j(.5, 1), j(.02, .9))),
                             _line(j(.25, 0), j(.95, .02))]),
        (3, 0.82, lambda j: [_join(_line(j(.95, 0), j(.22, 0), j(.15, .45)),
                                   _spline(j(.15, .45), j(.5, .35), j(.9, .55), j(.85, .85),
                                           j(.5, 1), j(.02, .9)))])],
    6: [(3, 0.7, lambda j: [_spline(j(.7, 0), j(.3, .25), j(.08, .6), j(.2, .92), j(.55, 1),
                                    j(.9, .8), j(.8, .55), j(.45, .5), j(.12, .68))]),
        (2, 0.65, lambda j: [_spline(j(.5, 0), j(.2, .35), j(.05, .75), j(.35, 1), j(.8, .95),
                                     j(.9, .7), j(.55, .5), j(.15, .7))])],
    7: [(4, 0.75, lambda j: [_line(j(0, 0), j(1, 0), j(.5, 1))]),
        (2, 0.75, lambda j: [_line(j(0, 0), j(1, 0), j(.5, 1)), _line(j(.4, .52), j(1, .48))]),
        (2, 0.7, lambda j: [_join(_line(j(0, .12), j(0, 0), j(1, 0)),
                                  _spline(j(1, 0), j(.75, .4), j(.6, 1)))])],
    8: [(3, 0.65, lambda j: [_spline(j(.85, .12), j(.5, 0), j(.12, .15), j(.25, .4), j(.75, .6),
                                     j(.9, .85), j(.5, 1), j(.1, .85), j(.25, .6), j(.75, .4),
                                     j(.88, .15), j(.55, 0))]),
        (2, 0.65, lambda j: [_arc(*j(.5, .24), .34, .24, 90, -270),
                             _arc(*j(.5, .72), .45, .28, -90, 270)])],
    9: [(3, 0.7, lambda j: [_join(_arc(*j(.45, .27), .4, .27, 5, -355), _line(j(.85, .3), j(.8, 1)))]),
        (2, 0.7, lambda j: [_join(_arc(*j(.45, .27), .4, .27, 5, -355),
                                  _spline(j(.85, .3), j(.85, .7), j(.7, .95), j(.45, .98)))]),
        (2, 0.6, lambda j: [_join(_spline(j(.9, .15), j(.55, 0), j(.1, .15), j(.2, .45), j(.6, .45),
                                          j(.9, .15)), _line(j(.9, .15), j(.75, 1)))]),
        (1, 0.65, lambda j: [_arc(*j(.45, .27), .4, .27, -15, -335), _line(j(.88, .02), j(.85, 1))])],
}


def draw_digit(digit, rng, size=280):
    """One drawing of `digit`: RGBA uint8 (size, size, 4), white ink on black."""
    weights, ratios, makers = zip(*TEMPLATES[digit], strict=True)
    k = rng.choice(len(makers), p=np.array(weights) / sum(weights))
    wobble = rng.uniform(0.01, 0.05)
    strokes = makers[k](lambda x, y: (x + rng.normal(0, wobble), y + rng.normal(0, wobble)))
    return paint(strokes, ratios[k], rng, size)


def paint(strokes, ratio, rng, size=280):
    """Strokes in a unit box (x right, y down) -> a canvas drawing, RGBA uint8 (size, size, 4): scaled to a
    random height with width/height about `ratio`, slanted, turned, placed, painted with a round brush."""
    height = size * rng.uniform(0.3, 0.9)
    width = height * ratio * rng.uniform(0.7, 1.35)
    slant = np.tan(rng.normal(0.06, 0.2))            # most writers lean a little to the right
    angle = np.radians(rng.normal(0, 5))
    brush = rng.uniform(14, 28) * size / 280
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    shape = np.array([[width, -slant * height], [0, height]])   # unit box -> pixels, sheared
    pts = [(s - 0.5) @ shape.T @ rot.T for s in strokes]         # centred at 0
    allp = np.vstack(pts)
    fit = min(1.0, (size - brush - 2) / max(np.ptp(allp, axis=0).max(), 1e-9))  # keep it on the canvas
    pts, allp = [p * fit for p in pts], allp * fit
    lo, hi = allp.min(0) - brush / 2, allp.max(0) + brush / 2
    room = np.maximum(size - (hi - lo), 0)
    offset = -lo + rng.uniform(0, 1, 2) * room                  # anywhere it fits

    scale = 2                                                    # supersample, like the canvas' anti-aliasing
    img = Image.new("L", (size * scale, size * scale), 0)
    pen = ImageDraw.Draw(img)
    r = brush * scale / 2
    for p in pts:
        p = (p + offset + rng.normal(0, 0.4, p.shape)) * scale   # hand tremor
        pen.line([tuple(q) for q in p], fill=255, width=max(1, round(2 * r)), joint="curve")
        for x, y in (p[0], p[-1]):                               # round caps
            pen.ellipse([x - r, y - r, x + r, y + r], fill=255)
    gray = np.asarray(img.resize((size, size), Image.BOX))
    rgba = np.empty((size, size, 4), np.uint8)
    rgba[..., :3] = gray[..., None]
    rgba[..., 3] = 255
    return rgba


def iter_drawings(n_per_digit, seed=0, size=280):
    """Yield (rgba, label) for n_per_digit drawings of each digit, digits interleaved.
    Drawing i depends only on (seed, i)."""
    for i in range(10 * n_per_digit):
        rng = np.random.default_rng([seed, i])
        yield draw_digit(i % 10, rng, size), i % 10


def make_drawings(n_per_digit, seed=0, size=280):
    """-> (images (N, size, size, 4) uint8, labels (N,) int), N = 10 * n_per_digit.
    Memory is N * size * size * 4 bytes: use iter_drawings for large N."""
    images, labels = zip(*iter_drawings(n_per_digit, seed, size), strict=True) if n_per_digit > 0 else ((), ())
    return np.array(images, np.uint8).reshape(-1, size, size, 4), np.array(labels, int)


def measure(model, n_per_digit=100, seed=0, size=280, batch=500):
    """Accuracy of canvas_to_mnist + model.predict_proba on synthetic drawings.
    -> dict: overall, per_digit (10 floats), n, confusions {(true, predicted): count}."""
    labels, preds, xs, ys = [], [], [], []

    def flush():
        if xs:
            preds.extend(np.argmax(model.predict_proba(np.stack(xs)), axis=1).tolist())
            labels.extend(ys)
            xs.clear(), ys.clear()

    for rgba, label in iter_drawings(n_per_digit, seed, size):
        x = canvas_to_mnist(rgba)
        xs.append(np.zeros((28, 28), np.float32) if x is None else x)
        ys.append(label)
        if len(xs) >= batch:
            flush()
    flush()
    labels, preds = np.array(labels, int), np.array(preds, int)
    per_digit = [float(np.mean(preds[labels == d] == d)) for d in range(10)]
    wrong = labels != preds
    pairs, counts = np.unique(np.stack([labels[wrong], preds[wrong]], 1), axis=0, return_counts=True)
    return {"overall": float(np.mean(preds == labels)), "per_digit": per_digit, "n": len(labels),
            "confusions": {(int(a), int(b)): int(c) for (a, b), c in zip(pairs, counts, strict=True)}}


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m cnn synth",
                                 description="Accuracy of canvas_to_mnist + a model on synthetic drawings.")
    ap.add_argument("--model", default="weights/default.npz", help="weights file (.npz)")
    ap.add_argument("--n", type=int, default=100, help="drawings per digit")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--size", type=int, default=280, help="canvas side in pixels")
    args = ap.parse_args(argv)
    if args.n < 1 or args.size < 28:
        ap.error("--n must be >= 1 and --size >= 28")
    from cnn.files import tool_inputs
    model = tool_inputs(ap, args.model)
    start = time.perf_counter()
    r = measure(model, args.n, args.seed, args.size)
    print(f"synthetic drawings: {r['n']} ({args.n} per digit, seed {args.seed}, {args.size} px canvas), "
          f"model {args.model}, {time.perf_counter() - start:.1f} s")
    for d, acc in enumerate(r["per_digit"]):
        print(f"  digit {d}: {100 * acc:5.1f}%")
    print(f"overall accuracy: {100 * r['overall']:.2f}%")
    top = sorted(r["confusions"].items(), key=lambda kv: -kv[1])[:8]
    if top:
        print("most confused (true->predicted: count): "
              + ", ".join(f"{a}->{b}: {c}" for (a, b), c in top))



if __name__ == "__main__":
    main()
