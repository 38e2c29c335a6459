"""More things that are not one digit, painted like cnn/studies/synth.py's digits: the kinds of
cnn/studies/nondigits.py, more letters, doodles, symbols, several digits side by side, and random tangles of
strokes; each also as a photo of ink on paper. The not-a-digit detector (cnn/teach/notdigit.py) is trained on
some kinds and measured on the others (cnn/studies/notdigit_study.py).

Every drawing depends only on (seed, kind, index).
"""
import zlib

import numpy as np

from cnn.inputs.canvas import canvas_to_mnist
from cnn.inputs.photo import photo_to_mnist

from .nondigits import TEMPLATES as LETTERS_AND_SHAPES
from .synth import TEMPLATES as DIGITS
from .synth import _arc, _line, _spline, paint


def _circle(cx, cy, r, a0=0, a1=360):
    return _arc(cx, cy, r, r, a0, a1)


def _dot(x, y, r=0.02):
    return _circle(x, y, r)


MORE = {
    "R": (0.7, lambda j, r: [_line(j(0, 1), j(0, 0)), _spline(j(0, 0), j(.8, .08), j(.8, .42), j(0, .5)),
                             _line(j(.3, .5), j(1, 1))]),
    "L": (0.6, lambda j, r: [_line(j(0, 0), j(0, 1), j(.9, 1))]),
    "V": (0.8, lambda j, r: [_line(j(0, 0), j(.5, 1), j(1, 0))]),
    "smiley": (1.0, lambda j, r: [_circle(*j(.5, .5), .5), _dot(*j(.33, .38), .04), _dot(*j(.67, .38), .04),
                                  _arc(*j(.5, .55), .25, .2, 20, 160)]),
    "house": (0.9, lambda j, r: [_line(j(0, .45), j(0, 1), j(1, 1), j(1, .45), j(0, .45)),
                                 _line(j(0, .45), j(.5, 0), j(1, .45))]),
    "arrow": (1.6, lambda j, r: [_line(j(0, .5), j(1, .5)), _line(j(.7, .15), j(1, .5), j(.7, .85))]),
    "check": (1.0, lambda j, r: [_line(j(0, .6), j(.35, 1), j(1, 0))]),
    "hash": (1.0, lambda j, r: [_line(j(.35, 0), j(.3, 1)), _line(j(.7, 0), j(.65, 1)),
                                _line(j(0, .33), j(1, .33)), _line(j(0, .67), j(1, .67))]),
    "circled X": (1.0, lambda j, r: [_circle(*j(.5, .5), .5), _line(j(.15, .15), j(.85, .85)),
                                     _line(j(.85, .15), j(.15, .85))]),
    "sun": (1.0, lambda j, r: [_circle(*j(.5, .5), .22)]
            + [_line(j(.5 + .3 * np.cos(a), .5 + .3 * np.sin(a)), j(.5 + .5 * np.cos(a), .5 + .5 * np.sin(a)))
               for a in np.linspace(0, 2 * np.pi, 8, endpoint=False)]),
    "stick figure": (0.6, lambda j, r: [_circle(*j(.5, .12), .12), _line(j(.5, .24), j(.5, .65)),
                                        _line(j(0, .4), j(1, .4)), _line(j(.1, 1), j(.5, .65), j(.9, 1))]),
    "cloud": (1.6, lambda j, r: [_spline(j(.1, .9), j(0, .6), j(.2, .35), j(.4, .4), j(.55, .05), j(.8, .2),
                                         j(.85, .45), j(1, .7), j(.85, .95), j(.1, .9))]),
    "dots": (1.0, lambda j, r: [_dot(*j(*r.uniform(0, 1, 2)), .05) for _ in range(int(r.integers(4, 8)))]),
    "equals": (1.4, lambda j, r: [_line(j(0, .25), j(1, .25)), _line(j(0, .75), j(1, .75))]),
    "infinity": (2.0, lambda j, r: [np.stack([np.cos(t) / (1 + np.sin(t) ** 2) * .5 + .5,
                                              np.sin(t) * np.cos(t) / (1 + np.sin(t) ** 2) + .5], 1)
                                    for t in [np.linspace(0, 2 * np.pi, 80)]]),
    "grid": (1.0, lambda j, r: [_line(j(x, 0), j(x, 1)) for x in (0, .5, 1)]
             + [_line(j(0, y), j(1, y)) for y in (0, .5, 1)]),
    "fish": (1.8, lambda j, r: [_arc(*j(.4, .5), .4, .3, 0, 360), _line(j(.8, .5), j(1, .2), j(1, .8), j(.8, .5))]),
    "envelope": (1.4, lambda j, r: [_line(j(0, 0), j(1, 0), j(1, 1), j(0, 1), j(0, 0)),
                                    _line(j(0, 0), j(.5, .55), j(1, 0))]),
    "hourglass": (0.8, lambda j, r: [_line(j(0, 0), j(1, 0), j(0, 1), j(1, 1), j(0, 0))]),
    "filled blob": (1.0, lambda j, r: [_circle(*j(.5, .5), rad) for rad in np.linspace(.05, .5, 9)]),
}


def _digit_strokes(digit, j, rng):
    weights, ratios, makers = zip(*DIGITS[digit], strict=True)
    k = rng.choice(len(makers), p=np.array(weights) / sum(weights))
    return makers[k](j), ratios[k]


def _digits_side_by_side(n):
    """Strokes of n random digits next to each other, with a gap: what a visitor writes as a number."""
    def make(j, rng):
        strokes, x = [], 0.0
        for _ in range(n):
            parts, ratio = _digit_strokes(int(rng.integers(10)), j, rng)
            w = max(ratio, 0.3)
            strokes += [np.column_stack([x + (s[:, 0] - .5) * ratio + w / 2, s[:, 1]]) for s in parts]
            x += w + rng.uniform(0.25, 0.6)
        width = x - 0.25
        return [np.column_stack([s[:, 0] / width, s[:, 1]]) for s in strokes], width
    return make


def _tangle(j, rng):
    """Random strokes: 2 to 5 lines, arcs and curves crossing anywhere in the box."""
    out = []
    for _ in range(int(rng.integers(2, 6))):
        kind = rng.integers(3)
        if kind == 0:
            out.append(_line(*[j(*rng.uniform(0, 1, 2)) for _ in range(int(rng.integers(2, 4)))]))
        elif kind == 1:
            a0 = rng.uniform(0, 360)
            out.append(_arc(*j(*rng.uniform(.2, .8, 2)), *rng.uniform(.1, .5, 2), a0, a0 + rng.uniform(90, 360)))
        else:
            out.append(_spline(*[j(*rng.uniform(0, 1, 2)) for _ in range(int(rng.integers(3, 6)))]))
    return out


def _polylines(j, rng):
    """Random straight strokes: 1 to 3 polylines of 2 to 5 corners (letters, arrows and stars are made so)."""
    return [_line(*[j(*rng.uniform(0, 1, 2)) for _ in range(int(rng.integers(2, 6)))])
            for _ in range(int(rng.integers(1, 4)))]


COMPOSED = {"two digits": _digits_side_by_side(2), "three digits": _digits_side_by_side(3)}
RANDOM = {"tangle": _tangle, "polylines": _polylines}      # always trained on, never measured
KINDS = sorted(set(LETTERS_AND_SHAPES) | set(MORE) | set(COMPOSED)) + list(RANDOM)


def draw(kind, rng, size=280):
    """One canvas drawing (RGBA uint8, white on black) of `kind`."""
    wobble = rng.uniform(0.01, 0.04)

    def j(x, y):
        return x + rng.normal(0, wobble), y + rng.normal(0, wobble)
    if kind in COMPOSED:
        strokes, ratio = COMPOSED[kind](j, rng)
    elif kind in RANDOM:
        strokes, ratio = RANDOM[kind](j, rng), rng.uniform(0.6, 1.6)
    else:
        ratio, maker = {**LETTERS_AND_SHAPES, **MORE}[kind]
        strokes = maker(j, rng)
    return paint(strokes, ratio, rng, size)


def rng_for(seed, kind, i):
    return np.random.default_rng([seed, zlib.crc32(kind.encode()), i])


def canvas_inputs(kind, n, seed=0, size=280):
    """(n, 28, 28) float32: n drawings of `kind` through canvas_to_mnist, as the Draw page sees them."""
    return np.stack([canvas_to_mnist(draw(kind, rng_for(seed, kind, i), size)) for i in range(n)])


def photo_inputs(kind, n, seed=0):
    """(m <= n, 28, 28): n drawings of `kind` as photos of ink on paper (cnn.studies.photobench.render, one
    mild condition drawn at random per photo) through photo_to_mnist; photos it reads no digit from are left out."""
    from .photobench import render
    out = []
    for i in range(n):
        rng = rng_for(seed + 1, kind, i)
        ink = draw(kind, rng, 140)[..., 0].astype(np.float32) / 255
        options = [{}, {"light": True}, {"blur": 0.02}, {"noise": 0.05}, {"gradient": 0.4}, {"thin": 0.02}]
        x = photo_to_mnist(render(ink, rng, **options[int(rng.integers(len(options)))]))
        if x is not None:
            out.append(x)
    return np.stack(out) if out else np.zeros((0, 28, 28), np.float32)
