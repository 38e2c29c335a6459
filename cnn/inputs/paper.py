"""The paper under a photo's ink, and the ruled lines on it (for cnn/inputs/photo.py). NumPy and Pillow."""
import numpy as np
from PIL import Image

from cnn.inputs.pieces import _components

GRID = 128                     # cells along the longer side for the paper's brightness ...
OPENING = 21                   # ... and the width, in cells, of the widest stroke (1/6 of the picture) ...
WIDE = 63                      # ... or half the picture, where the paper stays within MIN_CONTRAST / 2 of it
MIN_CONTRAST = 0.1             # ink must stand this far (0-1) above the paper


def paper(ink):
    """The paper's brightness under the ink: a morphological opening over cells of 1/GRID of the image (the
    smallest value in each cell, then in each OPENING x OPENING cells, then their largest), so strokes up to
    that wide vanish while shadows, gradients and the table around a sheet, larger, stay; enlarged back.
    Strokes wider still (a tightly cropped photo) would stay paper too: where an opening over WIDE cells is
    lower by MIN_CONTRAST / 2, it is taken instead, except along the picture's edges (the table)."""
    h, w = ink.shape
    c = max(1, -(-max(h, w) // GRID))
    padded = np.pad(ink, ((0, -h % c), (0, -w % c)), mode="edge")
    cells = padded.reshape(padded.shape[0] // c, c, padded.shape[1] // c, c).min(axis=(1, 3))
    narrow = _filter(_filter(cells, np.min, OPENING), np.max, OPENING)
    wide = _filter(_filter(cells, np.min, WIDE), np.max, WIDE) + MIN_CONTRAST / 2
    cells = np.where(_along_edges(narrow > wide), narrow, np.minimum(narrow, wide))
    return np.asarray(Image.fromarray(cells, "F").resize((w, h), Image.BILINEAR), np.float32)


def _along_edges(mask):
    """The pieces of a bool (h, w) array that run along nearly all of one of its edges (a table or shadow)."""
    labels = _components(mask)
    ids = [i for e in (labels[0], labels[-1], labels[:, 0], labels[:, -1])
           for i, n in zip(*np.unique(e[e >= 0], return_counts=True), strict=True) if n >= 0.9 * e.size]
    return np.isin(labels, ids) if ids else np.zeros_like(mask)


def _filter(a, op, k):
    """op (np.min or np.max) over each k x k square, as a row pass then a column pass."""
    windows = np.lib.stride_tricks.sliding_window_view
    a = op(windows(np.pad(a, k // 2, mode="edge"), k, axis=0), axis=-1)   # (h, w + k - 1)
    return op(windows(a, k, axis=1), axis=-1).astype(np.float32)          # (h, w)


def remove_ruled_lines(ink, run=0.9, thickness=0.03):
    """Subtract horizontal lines that cross `run` of the width and are at most `thickness` of the height thick
    (ruled paper): each row's level along its brightest run of that length, less the same over the rows
    around it (a 1-D opening), so broad brightness and a digit's own strokes, shorter or thicker, stay.
    Where a stroke crosses a line (ink above or below it), the stroke is kept. Ruled paper has lines: one
    alone is a stroke (the bar of a 7 or a 5 in a tightly cropped photo) and stays."""
    h, w = ink.shape
    if w < 20:
        return ink
    v = ink.copy()
    for k in (1, 2):                                                   # a line tilted by a fraction of a degree
        v[k:] = np.maximum(v[k:], ink[:-k])
        v[:-k] = np.maximum(v[:-k], ink[k:])
    windows = np.lib.stride_tricks.sliding_window_view
    level = windows(v, int(run * w), axis=1).min(axis=2).max(axis=1)  # (h,)
    k = int(thickness * h) + 3
    opened = windows(np.pad(windows(np.pad(level, k, mode="edge"), 2 * k + 1).min(axis=1), k, mode="edge"),
                     2 * k + 1).max(axis=1)                            # (h,)
    ridge = level - opened
    ridge[ridge < MIN_CONTRAST / 2] = 0
    if np.count_nonzero(np.diff(np.concatenate([[0], ridge > 0, [0]]).astype(np.int8)) == 1) < 2:
        return ink                                                     # one line alone: a digit's bar (a 7's)
    across = np.pad(ink, ((k, k), (0, 0)))
    across = np.maximum(across[:h], across[2 * k:])                    # (h, w): the ink k rows above or below
    return np.maximum(np.clip(ink - ridge[:, None], 0, None), np.where(ridge[:, None] > 0, np.minimum(ink, across), 0))
