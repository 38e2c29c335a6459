"""Random small shifts, rotations and scalings of a batch, so a model also reads digits drawn by hand."""
import numpy as np


def random_affine(x, rng, shift=3.0, degrees=15.0, scale=(0.85, 1.15)):
    """(N, H, W) images -> the same images, each moved by its own random affine map (bilinear)."""
    n, h, w = x.shape
    angle = np.deg2rad(rng.uniform(-degrees, degrees, n))
    zoom = rng.uniform(*scale, n)
    dy, dx = rng.uniform(-shift, shift, (2, n))
    cos, sin = np.cos(angle) / zoom, np.sin(angle) / zoom
    yy, xx = np.mgrid[0:h, 0:w] - np.array([(h - 1) / 2, (w - 1) / 2])[:, None, None]   # (2, H, W)
    # where each output pixel samples the input: rotate and scale about the centre, then shift
    src_y = cos[:, None, None] * yy - sin[:, None, None] * xx + (h - 1) / 2 - dy[:, None, None]  # (N, H, W)
    src_x = sin[:, None, None] * yy + cos[:, None, None] * xx + (w - 1) / 2 - dx[:, None, None]
    return bilinear(x, src_y, src_x).astype(x.dtype)


def bilinear(img, sy, sx):
    """Sample (N, H, W) images at fractional coordinates (N, H, W); outside the image is 0."""
    n, h, w = img.shape
    padded = np.zeros((n, h + 2, w + 2), img.dtype)          # a zero border makes outside reads 0
    padded[:, 1:-1, 1:-1] = img
    sy, sx = np.clip(sy + 1, 0, h + 0.999), np.clip(sx + 1, 0, w + 0.999)
    y0, x0 = sy.astype(np.intp), sx.astype(np.intp)
    fy, fx = sy - y0, sx - x0
    b = np.arange(n)[:, None, None]
    top = padded[b, y0, x0] * (1 - fx) + padded[b, y0, x0 + 1] * fx
    bottom = padded[b, y0 + 1, x0] * (1 - fx) + padded[b, y0 + 1, x0 + 1] * fx
    return top * (1 - fy) + bottom * fy
