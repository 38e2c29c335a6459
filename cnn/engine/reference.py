"""The plain path: a 3x3 convolution and 2x2 max pooling as a textbook writes them, one output value at a time.

Read these first. They are the equations of the Inside page's "The math", line for line, and nothing else:
no im2col, no strided views, no fused layer. The engine never runs them (they are hundreds of times slower
than layers.py); tests/test_reference.py checks that the fast layers compute the same numbers, forward and
backward, for many shapes. Shapes are batch-first and channels-last, as everywhere in the engine:
x (N, H, W, C_in), W (3, 3, C_in, C_out), b (C_out,).
"""
import numpy as np


def conv3x3_forward(x, W, b):
    """z[n, i, j, k] = b[k] + sum over a, b, c of x[n, i+a, j+b, c] * W[a, b, c, k]: valid padding, stride 1."""
    n, h, w, _ = x.shape
    out = np.zeros((n, h - 2, w - 2, W.shape[3]), x.dtype)           # (N, H-2, W-2, C_out)
    for n_, i, j, k in np.ndindex(out.shape):
        window = x[n_, i:i + 3, j:j + 3, :]                           # (3, 3, C_in): what output (i, j) reads
        out[n_, i, j, k] = np.sum(window * W[:, :, :, k]) + b[k]
    return out


def conv3x3_backward(dout, x, W):
    """(dx, dW, db) from dout = dL/dz (N, H-2, W-2, C_out). Each output value was computed from one window and
    one filter, so its gradient flows back to exactly those: the window gets dout times the filter, the filter
    gets dout times the window, the bias gets dout."""
    dx, dW = np.zeros_like(x), np.zeros_like(W)
    db = np.zeros(W.shape[3], dout.dtype)
    for n_, i, j, k in np.ndindex(dout.shape):
        g = dout[n_, i, j, k]
        dx[n_, i:i + 3, j:j + 3, :] += g * W[:, :, :, k]
        dW[:, :, :, k] += g * x[n_, i:i + 3, j:j + 3, :]
        db[k] += g
    return dx, dW, db


def maxpool2_forward(x):
    """y[n, i, j, c] = the largest of x[n, 2i:2i+2, 2j:2j+2, c]; an odd last row or column is dropped."""
    n, h, w, c = x.shape
    out = np.zeros((n, h // 2, w // 2, c), x.dtype)
    for n_, i, j, c_ in np.ndindex(out.shape):
        out[n_, i, j, c_] = x[n_, 2 * i:2 * i + 2, 2 * j:2 * j + 2, c_].max()
    return out


def maxpool2_backward(dout, x):
    """dx from dout = dL/dy: each window's gradient goes to the value that won, all of it; the others get 0.
    When several values tie, the first in reading order wins (top left, top right, bottom left, bottom right)."""
    dx = np.zeros_like(x)
    for n_, i, j, c_ in np.ndindex(dout.shape):
        window = x[n_, 2 * i:2 * i + 2, 2 * j:2 * j + 2, c_]         # (2, 2)
        a, b = divmod(int(window.argmax()), 2)                         # argmax: the first maximum
        dx[n_, 2 * i + a, 2 * j + b, c_] += dout[n_, i, j, c_]
    return dx
