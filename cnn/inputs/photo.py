"""Turn a photo or scan of one handwritten digit into an MNIST-like 28x28 image.

A photo is not a canvas: the ink may be dark on light paper or light on dark, the paper lit unevenly, the
strokes blurred, noisy, compressed, thin or thick, with margins, ruled lines and specks around the digit.
The steps, each kept for the app to show:
  photo    the image as gray levels, its longer side at most WORK px (large files are decoded at reduced size)
  ink      ink bright on black: polarity from the median (most of a picture is paper), the paper's own
           brightness (a large morphological opening) subtracted, ruled lines removed (cnn/inputs/paper.py)
  cropped  the digit alone (its connected pieces; far-away marks left out), levels stretched so the stroke
           core is 1 and the paper 0 without a hard threshold, strokes thickened to MNIST's width if thin
  scaled, centred   as for the canvas and for MNIST: longer side 20 px, centre of mass at the centre of 28x28
NumPy and Pillow only.
"""
import io
import os
import warnings

import numpy as np
from PIL import Image, ImageFilter

from cnn.inputs.canvas import BOX, STROKE, ink_box, place_by_mass, resize_area, stroke_width
from cnn.inputs.paper import MIN_CONTRAST, paper, remove_ruled_lines
from cnn.inputs.pieces import one_digit

MAX_BYTES = 20 * 2**20         # a file larger than this is refused unread
MAX_PIXELS = 40_000_000        # width x height from the file's header; larger is refused before decoding
MAX_DECODED_BYTES = 52 * 2**20 # bytes of the decoded image and the full-size copies resizing it needs: what is left
                               # of 64 MB covers the decoder's own buffers and the steps on a WORK x WORK image
# Bytes per pixel of a decoded image by mode: Pillow keeps 1 for 1, L and P, 2 for 16-bit gray, 4 for every other mode
BYTES_PER_PIXEL = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16B": 2, "I;16L": 2, "I;16N": 2}
ORIENTATION = 0x0112           # the EXIF tag of a phone photo's orientation, and the transpose that makes it upright
UPRIGHT = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
           5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
           8: Image.Transpose.ROTATE_90}
WORK = 512                     # longer side of the working image, in pixels
NOISE_SIGMAS = 6               # ink must stand this many noise levels above the paper (and MIN_CONTRAST)
MIN_SIDE = 16                  # a picture smaller than this a side is refused ...
MIN_DIGIT = 12                 # ... and so is a digit (a mark) smaller than this, in working pixels
STEPS = ("photo", "ink", "cropped", "scaled", "centred")


class PhotoError(ValueError):
    """The image cannot be read as one digit; the message says why and what to do."""


def photo_to_mnist(image):
    """Photo -> (28, 28) float32 in [0, 1], or None when no single digit can be found (see photo_to_mnist_steps)."""
    return photo_to_mnist_steps(image)["centred"]


def photo_to_mnist_steps(image):
    """A PIL image, an array (gray, RGB or RGBA), bytes, a file-like object or a path -> dict of the STEPS
    (None when not reached) and "reason": None, or why there is no result."""
    steps = dict.fromkeys(STEPS)
    steps["reason"] = None
    try:
        steps["photo"] = gray = to_gray(image)                        # (h, w) in [0, 1]
        ink = _ink(gray)
        steps["ink"] = ink / max(ink.max(), 1e-6)
        steps["cropped"] = digit = _digit(ink)                        # (h', w') in [0, 1]
    except PhotoError as e:
        steps["reason"] = str(e)
        return steps
    h, w = digit.shape
    scale = BOX / max(h, w)
    scaled = resize_area(digit, max(1, round(h * scale)), max(1, round(w * scale)))
    steps["scaled"] = np.clip(scaled, 0, 1)
    steps["centred"] = place_by_mass(steps["scaled"])
    return steps


def open_image(source):
    """bytes, a file-like object or a path -> a PIL image whose header only has been read."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        source = io.BytesIO(source)
    if isinstance(source, (str, os.PathLike)):
        size = os.path.getsize(source)
    else:
        size = source.seek(0, io.SEEK_END)
        source.seek(0)
    if size > MAX_BYTES:
        raise PhotoError(f"The file is {size / 2**20:.0f} MB; at most {MAX_BYTES // 2**20} MB is read. "
                         "Send a smaller photo.")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            return Image.open(source)
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise PhotoError("This is not an image that can be read (PNG, JPEG, WebP, GIF, BMP or TIFF).") from None


def to_gray(image):
    """Any input -> (h, w) float32 luminance in [0, 1], longer side at most WORK. Transparent pixels take
    the paper's colour: black behind light ink, white behind dark ink."""
    if isinstance(image, np.ndarray):
        image = _array_image(image)
    elif not isinstance(image, Image.Image):
        image = open_image(image)
    w, h = image.size
    if w * h > MAX_PIXELS:
        raise PhotoError(f"The image is {w:,} x {h:,} pixels; at most {MAX_PIXELS / 1e6:.0f} million pixels are "
                         "read. Send a smaller photo.")
    if min(w, h) < MIN_SIDE:
        raise PhotoError(f"The image is {w} x {h} pixels: too small to read a digit from (at least {MIN_SIDE} "
                         "pixels a side). Send a larger photo.")
    image.draft("L", (w * WORK // max(w, h), h * WORK // max(w, h)))     # JPEG: decode at 1/2, 1/4 or 1/8
    alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info
    _check_decoded_bytes(image, w, h, alpha)
    try:
        upright = UPRIGHT.get(image.getexif().get(ORIENTATION))                # phone photos: made upright below
        image.load()
        if image.mode in ("1", "P", "PA"):                                    # a palette resized is not averaged
            image = image.convert("RGBA" if alpha else "L")
        if max(image.size) > WORK:                                            # first of all: the rest is small
            sw, sh = image.size
            image = image.resize((max(1, sw * WORK // max(sw, sh)), max(1, sh * WORK // max(sw, sh))), Image.BOX)
        if upright is not None:
            image = image.transpose(upright)
        if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
            image = _array_image(np.asarray(image, np.float32) / (65535 if image.mode.startswith("I;16") else 1))
        image = image.convert("RGBA" if alpha else "L")
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
        raise PhotoError(f"The image cannot be decoded ({e}).") from None
    if not alpha:
        return np.asarray(image, np.float32) / 255
    rgba = np.asarray(image, np.float32) / 255                               # (h, w, 4)
    lum, a = rgba[..., :3] @ np.float32([0.299, 0.587, 0.114]), rgba[..., 3]
    shown = a > 0.5
    paper = 0.0 if shown.any() and lum[shown].mean() > 0.5 else 1.0
    return lum * a + paper * (1 - a)


def _check_decoded_bytes(image, w, h, alpha):
    """PhotoError when decoding `image` (its header read, a JPEG's draft size set) and the full-size copies that
    resizing it makes would take more than MAX_DECODED_BYTES, whatever its bit depth, mode or format: a palette or
    1-bit image is converted first, and Pillow resizes an image with alpha through a premultiplied copy."""
    dw, dh = image.size
    per_pixel = BYTES_PER_PIXEL.get(image.mode, 4)
    if image.mode in ("1", "P", "PA"):
        per_pixel += 4 if alpha else 1
    if alpha and max(dw, dh) > WORK:
        per_pixel += 4
    if dw * dh * per_pixel > MAX_DECODED_BYTES:
        raise PhotoError(f"The image is {w:,} x {h:,} pixels of {image.mode} mode: reading it would take "
                         f"{dw * dh * per_pixel / 2**20:.0f} MB, more than the {MAX_DECODED_BYTES // 2**20} MB a photo "
                         "may. Send a smaller image, an 8-bit one, or a JPEG.")


def _array_image(a):
    """An array (H, W), (H, W, 1-4); bool, integers 0-255 or 0-65535, floats 0-1 or 0-255 -> a PIL image."""
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if a.ndim not in (2, 3) or a.size == 0 or (a.ndim == 3 and a.shape[2] not in (2, 3, 4)):
        raise PhotoError(f"An array of shape {a.shape} is not an image: give (H, W), (H, W, 3) or (H, W, 4).")
    if a.shape[0] * a.shape[1] > MAX_PIXELS:
        raise PhotoError(f"The image is {a.shape[1]:,} x {a.shape[0]:,} pixels; at most "
                         f"{MAX_PIXELS / 1e6:.0f} million pixels are read.")
    if a.dtype == bool:
        unit = 1
    elif np.issubdtype(a.dtype, np.floating):
        a = np.nan_to_num(a, nan=0.0, posinf=0.0, neginf=0.0)
        unit = 1 if a.max() <= 1 else 255
    elif np.issubdtype(a.dtype, np.integer):
        unit = 255 if a.max() <= 255 else 65535
    else:
        raise PhotoError(f"An array of {a.dtype} is not an image.")
    u8 = np.clip(np.asarray(a, np.float32) * (255 / unit) + 0.5, 0, 255).astype(np.uint8)
    return Image.fromarray(u8, "L" if u8.ndim == 2 else {2: "LA", 3: "RGB", 4: "RGBA"}[u8.shape[2]])


def _ink(gray):
    """Gray photo -> ink (h, w) float32 >= 0, bright on black, the paper near 0. Most of the picture is paper
    (or the table around it), so the median is; the ink lies far from it on one side."""
    lo, median, hi = np.percentile(gray, [0.5, 50, 99.5])
    ink = 1 - gray if median - lo > hi - median else gray             # dark ink on light paper: invert
    return remove_ruled_lines(np.clip(ink - paper(ink), 0, None))


def _digit(ink):
    """Ink -> the digit alone, cropped, levels stretched to [0, 1], strokes at least MNIST's width."""
    p = np.pad(ink, 1, mode="edge")
    smooth = sum(p[i:i + ink.shape[0], j:j + ink.shape[1]] for i in range(3) for j in range(3)) / 9  # 3x3 mean
    p5, p25 = np.percentile(smooth, [5, 25])                          # paper: a tight crop's ink covers up to
    noise = float(p25 - p5) / 0.971                                   # 3/4 of the picture; for normal noise,
    base = float(p25) + 0.674 * noise                                 # p25 - p5 = 0.971 and p50 - p25 = 0.674
    peak = float(smooth.max()) - base
    if peak < max(MIN_CONTRAST, NOISE_SIGMAS * noise):
        raise PhotoError("No digit found: nothing stands out from the paper. Write the digit darker, or "
                         "take the photo closer and in even light.")
    mask = smooth > base + max(0.35 * peak, 3 * noise)                 # the strokes, for finding the digit only
    keep = one_digit(mask)                                            # (h, w) bool: the digit's pieces, widened
    if keep is None:
        raise PhotoError("More than one digit (or a large mark far from the digit) is in the picture: crop it "
                         "to one digit.")
    box = ink_box(keep & mask)
    core = np.percentile(ink[box][mask[box] & keep[box]], 75)
    floor = base + 3 * noise
    digit = np.clip((ink[box] - floor) / max(core - floor, 1e-6), 0, 1) * keep[box]
    if max(digit.shape) < MIN_DIGIT:
        raise PhotoError(f"The only mark found is {max(digit.shape)} pixels across: too small for a digit. Take "
                         "the photo closer, or write the digit larger.")
    return _thicken(digit.astype(np.float32), mask[box] & keep[box])


def _thicken(digit, strokes):
    """Grey dilation until the strokes, once the longer side is BOX px, are about STROKE px wide; strokes
    already that wide or wider are left alone (no thinning: it opens the loops of thin 0s, 6s, 8s, 9s)."""
    width = stroke_width(strokes)                                     # the smoothed mask: noise adds no edges
    longer = max(digit.shape)
    d = (STROKE * longer / BOX - width) / (2 * (1 - STROKE / BOX))    # as preprocess._set_stroke_width
    grow = round(d)
    if grow < 1:
        return digit
    padded = np.pad(digit, grow)
    return np.asarray(Image.fromarray(padded, "F").filter(ImageFilter.MaxFilter(2 * grow + 1)), np.float32)
