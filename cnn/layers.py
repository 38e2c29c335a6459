"""Layers with hand-written forward and backward passes, batch-first and channels-last (N, H, W, C).

Every layer follows one protocol:
    params                              dict of arrays (empty for layers without parameters)
    forward(x, keep=False)              -> (out, cache); cache is None unless keep (training)
    backward(dout, cache, need_dx=True) -> (dx, grads); grads has the same keys as params
Layers keep no state between calls, so one model can serve many threads at once.
"""
import numpy as np
from numpy.lib.stride_tricks import as_strided

OFFSETS_3X3 = [(i, j) for i in range(3) for j in range(3)]
OFFSETS_2X2 = [(0, 0), (0, 1), (1, 0), (1, 1)]


def he_normal(rng, shape, fan_in, gain, dtype):
    """He initialisation (gain 2, for ReLU); gain 1 gives LeCun's, for networks without activation."""
    return (rng.standard_normal(shape) * np.sqrt(gain / fan_in)).astype(dtype)


class Conv3x3:
    """3x3 convolution, valid padding, stride 1, with bias: as im2col and one matrix product."""

    def __init__(self, c_in, c_out, rng, gain=2.0, dtype=np.float32):
        self.params = {"W": he_normal(rng, (3, 3, c_in, c_out), 9 * c_in, gain, dtype),  # (kh, kw, C_in, C_out)
                       "b": np.zeros(c_out, dtype)}

    def forward(self, x, keep=False):
        cols = im2col3x3(x)                                          # (N, H-2, W-2, 9*C_in)
        W = self.params["W"]
        out = cols @ W.reshape(-1, W.shape[-1])                      # (N, H-2, W-2, C_out)
        out += self.params["b"]
        return out, ((cols, x.shape) if keep else None)

    def backward(self, dout, cache, need_dx=True):
        cols, x_shape = cache
        W = self.params["W"]
        d2 = dout.reshape(-1, W.shape[-1])                           # (N*Ho*Wo, C_out)
        # a product with a vector of ones sums the rows far faster than d2.sum(0)
        grads = {"W": (cols.reshape(len(d2), -1).T @ d2).reshape(W.shape), "b": np.ones(len(d2), d2.dtype) @ d2}
        if not need_dx:
            return None, grads
        # dx is the "full" convolution of dout with the flipped kernel: pad by 2, then a valid convolution
        padded = np.pad(dout, ((0, 0), (2, 2), (2, 2), (0, 0)))      # (N, H+2, W+2, C_out)
        flipped = W[::-1, ::-1].transpose(0, 1, 3, 2).reshape(-1, W.shape[2])   # (9*C_out, C_in)
        return im2col3x3(padded) @ flipped, grads                    # (N, H, W, C_in)


def im2col3x3(x):
    """(N, H, W, C) -> (N, H-2, W-2, 9*C): the 3x3 neighbourhood of every output pixel, ordered (i, j, c)."""
    n, h, w, c = x.shape
    if c < 4:   # few channels: 9 strided copies are faster than 3 runs of 3*C values
        cols = np.empty((n, h - 2, w - 2, 3, 3, c), x.dtype)
        for i, j in OFFSETS_3X3:
            cols[:, :, :, i, j, :] = x[:, i:i + h - 2, j:j + w - 2, :]
        return cols.reshape(n, h - 2, w - 2, 9 * c)
    x = np.ascontiguousarray(x)
    sn, sh, sw, sc = x.strides
    # row i of a window is 3*C consecutive values in memory: view them without copying, then copy once
    windows = as_strided(x, (n, h - 2, w - 2, 3, 3 * c), (sn, sh, sw, sh, sc), writeable=False)
    return windows.reshape(n, h - 2, w - 2, 9 * c)


class MaxPool2:
    """2x2 max pooling, stride 2; an odd last row or column is dropped (13 -> 6).
    The gradient goes to the first maximum of each window, in the order of OFFSETS_2X2."""

    params = {}

    def forward(self, x, keep=False):
        n, h, w, c = x.shape
        views = [x[:, i:h - h % 2:2, j:w - w % 2:2] for i, j in OFFSETS_2X2]   # 4 x (N, H/2, W/2, C)
        out = np.maximum(views[0], views[1])
        np.maximum(out, views[2], out=out)
        np.maximum(out, views[3], out=out)
        if not keep:
            return out, None
        first = [views[0] == out]                                     # which offset holds the first maximum
        taken = first[0].copy()
        for v in views[1:3]:
            first.append((v == out) & ~taken)
            taken |= first[-1]
        first.append(~taken)
        return out, (first, x.shape)

    def backward(self, dout, cache, need_dx=True):
        first, x_shape = cache
        if not need_dx:
            return None, {}
        n, h, w, c = x_shape
        dx = (np.zeros if h % 2 or w % 2 else np.empty)(x_shape, dout.dtype)
        for (i, j), mask in zip(OFFSETS_2X2, first):
            np.multiply(dout, mask, out=dx[:, i:h - h % 2:2, j:w - w % 2:2])
        return dx, {}


class ReLU:
    params = {}

    def forward(self, x, keep=False):
        out = np.maximum(x, 0)
        return out, (out if keep else None)

    def backward(self, dout, cache, need_dx=True):
        return (dout * (cache > 0) if need_dx else None), {}


class Dense:
    """Fully connected layer; flattens its input: (N, ...) -> (N, n_out)."""

    def __init__(self, n_in, n_out, rng, gain=2.0, dtype=np.float32):
        self.params = {"W": he_normal(rng, (n_in, n_out), n_in, gain, dtype), "b": np.zeros(n_out, dtype)}

    def forward(self, x, keep=False):
        flat = x.reshape(len(x), -1)                                 # (N, n_in)
        out = flat @ self.params["W"] + self.params["b"]             # (N, n_out)
        return out, ((flat, x.shape) if keep else None)

    def backward(self, dout, cache, need_dx=True):
        flat, x_shape = cache
        grads = {"W": flat.T @ dout, "b": dout.sum(0)}
        dx = (dout @ self.params["W"].T).reshape(x_shape) if need_dx else None
        return dx, grads


def softmax(logits):
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def softmax_cross_entropy(logits, labels):
    """Mean cross-entropy of softmax(logits) against integer labels, and its gradient, stably."""
    n = len(logits)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[np.arange(n), labels].mean()
    dlogits = np.exp(log_probs)
    dlogits[np.arange(n), labels] -= 1
    return float(loss), dlogits / n
