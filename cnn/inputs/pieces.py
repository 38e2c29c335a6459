"""The connected pieces of ink in a picture, and which of them make up one digit (for cnn/inputs/photo.py).
Plain NumPy and Pillow: pieces are labelled on a coarse grid, by propagating the smallest label."""
import numpy as np
from PIL import Image, ImageFilter

from cnn.inputs.canvas import ink_box

FAR = 0.5                      # pieces further apart than this times the digit's size are not one digit
SIGNIFICANT = 0.2              # a far piece this large (relative to the digit) means a second digit
INSIDE = 0.004                 # a piece off the edges this large (relative to the picture) is the digit
ALONG = 0.6                    # a piece along this much of an edge is the table or a shadow, not the digit
SPECK = 0.03                   # a piece this small (relative to the digit) joins it only if it touches its box


def one_digit(mask):
    """The pieces of ink that make up one digit, found on a grid of at most 128 cells a side: the largest
    piece, and every piece near it (a 5's bar, a pen lift). A second large piece far away is a second digit
    (-> None); small ones far away are specks and are dropped. -> (h, w) bool, widened by one cell."""
    h, w = mask.shape
    f = max(1, -(-max(h, w) // 128))
    padded = np.pad(mask, ((0, -h % f), (0, -w % f)))
    grid = padded.reshape(padded.shape[0] // f, f, padded.shape[1] // f, f).any(axis=(1, 3))
    labels = _components(grid)
    ids, sizes = np.unique(labels[grid], return_counts=True)
    pieces = sorted(((s, _bounds(labels == i), i) for i, s in zip(ids, sizes, strict=True)), key=lambda p: -p[0])
    pieces = _drop_surroundings(pieces, labels)
    group, members, added = pieces[0][1], {pieces[0][2]}, True
    while added:
        added = False
        for size, b, i in pieces:
            near = FAR * max(group[2] - group[0], group[3] - group[1]) if size >= SPECK * pieces[0][0] else 1
            if i not in members and _gap(group, b) <= near:
                group = (min(group[0], b[0]), min(group[1], b[1]), max(group[2], b[2]), max(group[3], b[3]))
                members.add(i)
                added = True
    if any(i not in members and size >= SIGNIFICANT * pieces[0][0] for size, _, i in pieces):
        return None
    keep = Image.fromarray(np.isin(labels, list(members)).astype(np.uint8) * 255, "L")
    keep = keep.filter(ImageFilter.MaxFilter(3))
    return np.kron(np.asarray(keep) > 0, np.ones((f, f), bool))[:h, :w]


def _drop_surroundings(pieces, labels):
    """Leave out what surrounds a digit written on a sheet: the table or a shadow along the picture's edges,
    and the rim left where the sheet's edge crosses the picture; that is, when a sizeable piece lies off the
    picture's edges, every piece that runs along most of an edge, and every piece whose box holds a sizeable
    piece's box. A digit that merely touches the edges (a tightly cropped photo) stays."""
    shape = labels.shape

    def off_edges(p):
        return min(p[1][:2]) > 0 and p[1][2] < shape[0] and p[1][3] < shape[1]

    def along(p):
        return max(np.mean(edge == p[2]) for edge in (labels[0], labels[-1], labels[:, 0], labels[:, -1])) >= ALONG

    def holds(a, b):
        return a[0] < b[0] and a[1] < b[1] and a[2] > b[2] and a[3] > b[3]

    inside = [p for p in pieces if p[0] >= INSIDE * shape[0] * shape[1] and off_edges(p)]
    if not inside:
        return pieces
    kept = [p for p in pieces if (off_edges(p) or not along(p)) and not any(holds(p[1], q[1]) for q in inside)]
    return kept or pieces


def _components(mask):
    """8-connected components of a bool (h, w) array: each pixel's label is the smallest flat index in its
    piece (-1 off the mask). Each round takes the smallest label among the neighbours, then follows labels
    to their own label (pointer jumping), so it ends in a few dozen rounds even for long strokes."""
    h, w = mask.shape
    n = h * w
    labels = np.where(mask, np.arange(n).reshape(h, w), n)
    while True:
        p = np.pad(labels, 1, constant_values=n)
        nxt = np.min([p[i:i + h, j:j + w] for i in range(3) for j in range(3)], axis=0)
        nxt = np.where(mask, nxt, n)
        nxt = np.append(nxt.ravel(), n)[nxt]                          # jump: the label of my label
        if np.array_equal(nxt, labels):
            return np.where(mask, labels, -1)
        labels = nxt


def _bounds(piece):
    rows, cols = ink_box(piece)
    return rows.start, cols.start, rows.stop, cols.stop


def _gap(a, b):
    """Distance between two boxes (top, left, bottom, right), 0 when they overlap."""
    return max(0, a[0] - b[2], b[0] - a[2], a[1] - b[3], b[1] - a[3])
