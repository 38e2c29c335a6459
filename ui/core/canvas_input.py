"""The canvas's drawing as pixels, bounded. The browser sends the drawing as a PNG, and a hostile client can send
any PNG in its place: its size is checked from the header before it is decoded, and it is kept at canvas size."""
import io

import numpy as np
from PIL import Image

MAX_PNG_BYTES = 2 * 2**20   # a 280x280 RGBA canvas is at most about 0.3 MB, even at 4 times the resolution
MAX_SCALE = 4               # the canvas may send its image at the screen's pixel ratio (phones: 2 or 3)


class CanvasError(ValueError):
    """Data that a canvas of this size never sends; the message says what is wrong."""


def canvas_rgba(png, side):
    """PNG bytes from a side x side canvas -> (side, side, 4) uint8 RGBA, or None when nothing was sent.
    Raises CanvasError before decoding anything larger than the canvas can send."""
    if png is None:
        return None
    if len(png) > MAX_PNG_BYTES:
        raise CanvasError(f"the drawing arrived as {len(png) / 2**20:.1f} MB; a canvas sends at most "
                          f"{MAX_PNG_BYTES // 2**20} MB")
    try:
        image = Image.open(io.BytesIO(png))                            # reads the header only
        width, height = image.size
        if image.format != "PNG" or width != height or not side // 2 <= width <= MAX_SCALE * side:
            raise CanvasError(f"the drawing arrived as a {width}x{height} {image.format} image; this canvas "
                              f"sends a square PNG of {side}x{side} (up to {MAX_SCALE * side}x{MAX_SCALE * side})")
        image = image.convert("RGBA")
    except CanvasError:
        raise
    except (OSError, ValueError, Image.DecompressionBombError) as e:   # not an image, or a damaged one
        raise CanvasError(f"the drawing could not be read as an image ({type(e).__name__})") from None
    if image.size != (side, side):
        image = image.resize((side, side), Image.Resampling.BOX)
    return np.asarray(image)
