"""Synthetic canvas drawings that are not digits (letters, shapes, scribbles), painted the way cnn/studies/synth.py
paints digits, and how often the "not sure" test flags them and real digit drawings.

    python -m cnn nondigits --model weights/default.npz --n 100
"""
import argparse

import numpy as np

from cnn.inputs.canvas import canvas_to_mnist
from cnn.teach.calibration import NOT_SURE_BELOW, calibrated, temperature

from .synth import _arc, _line, _spline, iter_drawings, paint


def _scribble(j, rng):
    """A random tangle: a smooth curve through 6 to 10 random points of the box."""
    return [_spline(*[j(*rng.uniform(0, 1, 2)) for _ in range(rng.integers(6, 11))])]


def _zigzag(j, rng):
    n = int(rng.integers(4, 8))
    return [_line(*[j(i / (n - 1), float(i % 2)) for i in range(n)])]


# name -> (width/height, function(j, rng) -> strokes); letters chosen unlike any digit (no O, I, S, Z, B, G...)
TEMPLATES = {
    "A": (0.8, lambda j, r: [_line(j(0, 1), j(.5, 0), j(1, 1)), _line(j(.2, .6), j(.8, .6))]),
    "E": (0.6, lambda j, r: [_line(j(1, 0), j(0, 0), j(0, 1), j(1, 1)), _line(j(0, .5), j(.8, .5))]),
    "F": (0.55, lambda j, r: [_line(j(1, 0), j(0, 0), j(0, 1)), _line(j(0, .45), j(.8, .45))]),
    "H": (0.75, lambda j, r: [_line(j(0, 0), j(0, 1)), _line(j(1, 0), j(1, 1)), _line(j(0, .5), j(1, .5))]),
    "K": (0.7, lambda j, r: [_line(j(0, 0), j(0, 1)), _line(j(1, 0), j(0, .55), j(1, 1))]),
    "M": (0.9, lambda j, r: [_line(j(0, 1), j(0, 0), j(.5, .6), j(1, 0), j(1, 1))]),
    "N": (0.75, lambda j, r: [_line(j(0, 1), j(0, 0), j(1, 1), j(1, 0))]),
    "W": (1.0, lambda j, r: [_line(j(0, 0), j(.25, 1), j(.5, .4), j(.75, 1), j(1, 0))]),
    "X": (0.8, lambda j, r: [_line(j(0, 0), j(1, 1)), _line(j(1, 0), j(0, 1))]),
    "Y": (0.75, lambda j, r: [_line(j(0, 0), j(.5, .5), j(1, 0)), _line(j(.5, .5), j(.5, 1))]),
    "e": (0.9, lambda j, r: [_join_e(j)]),
    "m": (1.2, lambda j, r: [_spline(j(0, 1), j(0, .3), j(.25, .1), j(.45, .35), j(.5, 1)),
                             _spline(j(.5, .35), j(.7, .1), j(.95, .3), j(1, 1))]),
    "square": (1.0, lambda j, r: [_line(j(0, 0), j(1, 0), j(1, 1), j(0, 1), j(0, 0))]),
    "triangle": (1.0, lambda j, r: [_line(j(.5, 0), j(1, 1), j(0, 1), j(.5, 0))]),
    "star": (1.0, lambda j, r: [_line(j(.5, 0), j(.8, 1), j(0, .35), j(1, .35), j(.2, 1), j(.5, 0))]),
    "cross": (1.0, lambda j, r: [_line(j(.5, 0), j(.5, 1)), _line(j(0, .5), j(1, .5))]),
    "spiral": (1.0, lambda j, r: [_spiral(j)]),
    "heart": (1.0, lambda j, r: [_spline(j(.5, 1), j(.05, .45), j(.2, .05), j(.5, .3), j(.8, .05), j(.95, .45),
                                         j(.5, 1))]),
    "wave": (2.5, lambda j, r: [_spline(*[j(i / 6, .5 + .5 * (-1) ** i) for i in range(7)])]),
    "zigzag": (1.5, _zigzag),
    "scribble": (1.0, _scribble),
    "hatching": (1.0, lambda j, r: [_line(j(x, 0), j(x + .2, 1)) for x in (0, .3, .6)]),
}


def _join_e(j):
    return np.vstack([_line(j(0, .5), j(1, .5)), _arc(*j(.5, .5), .5, .5, 0, -300)])


def _spiral(j):
    t = np.linspace(0, 5 * np.pi, 120)
    cx, cy = j(.5, .5)
    return np.stack([cx + 0.5 * t / t[-1] * np.cos(t), cy + 0.5 * t / t[-1] * np.sin(t)], axis=1)


def draw_nondigit(name, rng, size=280):
    ratio, maker = TEMPLATES[name]
    wobble = rng.uniform(0.01, 0.04)
    strokes = maker(lambda x, y: (x + rng.normal(0, wobble), y + rng.normal(0, wobble)), rng)
    return paint(strokes, ratio, rng, size)


def iter_nondigits(n_per_kind, seed=0, size=280):
    """Yield (rgba, name) for n_per_kind drawings of every kind; drawing i depends only on (seed, i)."""
    names = list(TEMPLATES)
    for i in range(len(names) * n_per_kind):
        name = names[i % len(names)]
        yield draw_nondigit(name, np.random.default_rng([seed, 10**6 + i]), size), name


def top_probabilities(model, drawings):
    """The calibrated top probability of each canvas drawing, as the Draw page computes it."""
    xs = [canvas_to_mnist(rgba) for rgba, _ in drawings]
    return top_of(model, np.stack([np.zeros((28, 28), np.float32) if v is None else v for v in xs]))


def top_of(model, x, batch=500):
    probs = np.concatenate([model.predict_proba(x[i:i + batch]) for i in range(0, len(x), batch)])
    return calibrated(probs, temperature(model)).max(axis=1)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m cnn nondigits",
                                description="How often the Draw page's 'not sure' flags non-digits and digits.")
    p.add_argument("--model", default="weights/default.npz", help="weights file (.npz)")
    p.add_argument("--n", type=int, default=100, help="drawings per kind (and per digit)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    from cnn.files import tool_inputs
    from cnn.files.mnist import MnistError, load_mnist
    model = tool_inputs(p, args.model)
    drawings = list(iter_nondigits(args.n, args.seed))
    odd = top_probabilities(model, drawings)
    digits = top_probabilities(model, list(iter_drawings(args.n, args.seed)))
    print(f"{args.model} (temperature {temperature(model):.3f}): {len(odd)} non-digit drawings "
          f"({len(TEMPLATES)} kinds), {len(digits)} digit drawings, seed {args.seed}")
    for threshold in sorted({0.5, 0.7, 0.8, 0.9, 0.95, 0.99, NOT_SURE_BELOW}):
        mark = "  <- the Draw page's threshold" if threshold == NOT_SURE_BELOW else ""
        print(f"  not sure below {threshold:.2f}: non-digits flagged {np.mean(odd < threshold):6.1%}, "
              f"digits wrongly flagged {np.mean(digits < threshold):6.1%}{mark}")
    names = np.array([name for _, name in drawings])
    shares = {name: np.mean(odd[names == name] < NOT_SURE_BELOW) for name in TEMPLATES}
    print(f"  flagged at {NOT_SURE_BELOW:.2f}, by kind: "
          + ", ".join(f"{n} {s:.0%}" for n, s in sorted(shares.items(), key=lambda kv: -kv[1])))
    try:
        _, _, x_test, _ = load_mnist()
        print(f"  MNIST test images wrongly flagged at {NOT_SURE_BELOW:.2f}: "
              f"{np.mean(top_of(model, x_test) < NOT_SURE_BELOW):.1%} of {len(x_test):,}")
    except MnistError as e:
        print(f"  (no MNIST test images: {e})")


if __name__ == "__main__":
    main()
