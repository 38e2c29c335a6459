"""Turn a canvas drawing into an MNIST-like 28x28 image.

MNIST's own recipe (LeCun et al.): the binary NIST digit is scaled so that its
longer side is 20 px, keeping the aspect ratio, with anti-aliasing; it is then
placed in a 28x28 field so that its centre of mass sits at the centre.
A canvas stroke is much thicker than a NIST pen stroke relative to the digit,
so before scaling the stroke is thinned (or thickened) to MNIST's width.
NumPy and Pillow; every step is kept for the app to show. Photos and scans: cnn/inputs/photo.py.
"""
import numpy as np
from PIL import Image

INK_THRESHOLD = 0.2   # a canvas pixel brighter than this (0-1) counts as ink
MAX_SIDE = 560        # larger inputs are max-pooled down first (bounds the work)
BOX = 20              # MNIST: the digit's longer side, in pixels
SIZE = 28             # MNIST: the image side
CENTRE = 14.0         # MNIST: centre of mass of the digits (mean 13.99, 14.01 on t10k)
STROKE = 2.3          # aim a little under MNIST's mean stroke width, 2.44 px (stroke_width of t10k digits
                      # upsampled x4), because rounding the thinning steps adds about 0.1


def canvas_to_mnist(rgba):
    """Canvas pixels -> (28, 28) float32 in [0, 1], or None when there is no ink."""
    return canvas_to_mnist_steps(rgba)["centred"]


def canvas_to_mnist_steps(rgba):
    """Canvas pixels -> dict of the steps: "cropped" (ink at canvas resolution),
    "scaled" (longer side 20), "centred" (28x28, the network's input); all None
    when there is no ink or the input is not an image."""
    steps = {"cropped": None, "scaled": None, "centred": None}
    gray = to_gray(rgba)
    if gray is None:
        return steps
    box = ink_box(gray > INK_THRESHOLD)
    if box is None:
        return steps
    cropped = gray[box]
    cropped = np.where(cropped > INK_THRESHOLD, cropped, 0) / cropped.max()  # (h, w) in [0, 1]
    steps["cropped"] = cropped.astype(np.float32)

    mask = _set_stroke_width(cropped > 0.5)
    mask = mask[ink_box(mask)]
    h, w = mask.shape
    scale = BOX / max(h, w)
    size = (max(1, round(h * scale)), max(1, round(w * scale)))
    scaled = resize_area(mask.astype(np.float32), *size)  # (<=20, <=20), anti-aliased
    steps["scaled"] = np.clip(scaled, 0, 1).astype(np.float32)
    steps["centred"] = place_by_mass(steps["scaled"])
    return steps


def to_gray(image):
    """Any image-like input -> (H, W) float32 ink intensity in [0, 1], or None.
    RGBA: brightest colour channel times alpha (black or transparent background);
    RGB: brightest channel; 2-D: itself. Floats up to 1 are read as 0-1, else as 0-255."""
    try:
        a = np.asarray(image)
    except (ValueError, TypeError):  # ragged lists and the like
        return None
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim not in (2, 3) or a.size == 0 or (a.ndim == 3 and a.shape[2] not in (2, 3, 4)):
        return None
    if np.issubdtype(a.dtype, np.floating):
        a = np.nan_to_num(a.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
        unit = 1.0 if a.max() <= 1.0 else 255.0
    elif np.issubdtype(a.dtype, np.integer) or a.dtype == bool:
        unit = 1.0 if a.dtype == bool else 255.0
    else:
        return None
    if a.ndim == 3:  # (H, W, C) -> (H, W)
        colour = a[:, :, 0] if a.shape[2] == 2 else np.maximum(np.maximum(a[:, :, 0], a[:, :, 1]), a[:, :, 2])
        if a.shape[2] != 3 and a[:, :, -1].min() < unit:  # not opaque: weigh by alpha
            colour = colour * (a[:, :, -1] / unit)
        a = colour
    factor = -(-max(a.shape) // MAX_SIDE)  # ceil
    if factor > 1:  # bound the work on huge inputs; max keeps thin lines (their width is reset later)
        a = _block_max(a, factor)
    return np.clip(a.astype(np.float32) / np.float32(unit), 0.0, 1.0)


def stroke_width(mask):
    """Mean stroke width of a binary drawing, in pixels: 2 * area / perimeter.
    The perimeter is the count of pixel edges times pi/4, which undoes the
    staircase of slanted and curved edges (exact on average over directions)."""
    m = np.pad(mask, 1)
    edges = np.count_nonzero(m[1:] != m[:-1]) + np.count_nonzero(m[:, 1:] != m[:, :-1])
    if edges == 0:
        return 0.0
    return 2.0 * np.count_nonzero(m) / (edges * np.pi / 4)


def _set_stroke_width(mask):
    """Thin or thicken the strokes so that, once the longer side is scaled to
    BOX, they are STROKE px wide. Growing by d px on each side makes the width
    w + 2d and the longer side L + 2d; solve (w + 2d) * BOX = STROKE * (L + 2d)."""
    width = stroke_width(mask)
    longer = max(mask.shape)
    d = (STROKE * longer / BOX - width) / (2 * (1 - STROKE / BOX))
    steps = round(abs(d))
    if d > 0:
        mask = np.pad(mask, steps)  # room to grow
    for i in range(steps):
        nxt = _morph(mask, grow=d > 0, cross=i % 2 == 1)
        if not nxt.any():  # never erode the drawing away
            break
        mask = nxt
    return mask


def _morph(mask, grow, cross):
    """One step of dilation (grow) or erosion with a 3x3 square or cross;
    alternating the two approximates a disc. Outside the frame is background."""
    op = np.logical_or if grow else np.logical_and
    m = np.pad(mask, 1)  # (h + 2, w + 2)
    if cross:
        c = m[1:-1, 1:-1]
        return op(op(op(c, m[:-2, 1:-1]), op(m[2:, 1:-1], m[1:-1, :-2])), m[1:-1, 2:])
    rows = op(op(m[:, :-2], m[:, 1:-1]), m[:, 2:])  # (h + 2, w)
    return op(op(rows[:-2], rows[1:-1]), rows[2:])  # (h, w)


def ink_box(mask):
    """Slices of the bounding box of the True pixels, or None."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)


def _block_max(a, f):
    """(H, W) -> (ceil(H/f), ceil(W/f)), the maximum of each f x f block."""
    h, w = a.shape
    a = np.pad(a, ((0, -h % f), (0, -w % f)))
    return a.reshape(a.shape[0] // f, f, a.shape[1] // f, f).max(axis=(1, 3))


def resize_area(img, out_h, out_w):
    """(H, W) float32 -> (out_h, out_w): Pillow's box filter, each output pixel the mean of the input pixels it
    covers (anti-aliased when shrinking)."""
    image = Image.fromarray(np.ascontiguousarray(img, dtype=np.float32), mode="F")
    return np.asarray(image.resize((out_w, out_h), Image.Resampling.BOX), dtype=np.float32)


def place_by_mass(digit):
    """Paste into SIZE x SIZE with the centre of mass at (CENTRE, CENTRE),
    shifted by whole pixels like MNIST, never pushing ink out of the frame."""
    h, w = digit.shape
    mass = digit.sum()
    cy = (digit.sum(axis=1) @ np.arange(h)) / mass
    cx = (digit.sum(axis=0) @ np.arange(w)) / mass
    top = int(np.clip(round(CENTRE - cy), 0, SIZE - h))
    left = int(np.clip(round(CENTRE - cx), 0, SIZE - w))
    out = np.zeros((SIZE, SIZE), np.float32)
    out[top:top + h, left:left + w] = digit
    return out
