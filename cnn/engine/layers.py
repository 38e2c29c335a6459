"""Layers with hand-written forward and backward passes, batch-first and channels-last (N, H, W, C).

Every layer follows one protocol:
    params                              dict of arrays (empty for layers without parameters)
    forward(x, keep=False)              -> (out, cache); cache is None unless keep (training)
    backward(dout, cache, need_dx=True) -> (dx, grads); grads has the same keys as params
Layers keep no state between calls, so one model can serve many threads at once.
"""
import numpy as np
from numpy.lib.stride_tricks import as_strided

OFFSETS_2X2 = [(0, 0), (0, 1), (1, 0), (1, 1)]
FEW_CHANNELS = 4   # below this many channels, windows() copies by offsets (see windows)


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
        out = matmul(cols, self.params["W"].reshape(cols.shape[-1], -1))   # (N, H-2, W-2, C_out)
        out += self.params["b"]
        return out, ((cols, x.shape) if keep else None)

    def backward(self, dout, cache, need_dx=True):
        cols, x_shape = cache
        return (self.input_grad(dout, x_shape) if need_dx else None), self.param_grads(cols, dout)

    def param_grads(self, cols, dout):
        W = self.params["W"]
        d2 = dout.reshape(-1, W.shape[-1])                           # (N*Ho*Wo, C_out)
        # a product with a vector of ones sums the rows far faster than d2.sum(0)
        return {"W": (cols.reshape(len(d2), -1).T @ d2).reshape(W.shape), "b": np.ones(len(d2), d2.dtype) @ d2}

    def input_grad(self, dout, x_shape):
        """dx is the "full" convolution of dout with the flipped kernel: pad by 2, then a valid convolution."""
        W = self.params["W"]
        n, h, w, c_out = dout.shape
        padded = np.zeros((n, h + 4, w + 4, c_out), dout.dtype)      # (N, H+2, W+2, C_out), dout framed by zeros
        padded[:, 2:-2, 2:-2] = dout
        flipped = W[::-1, ::-1].transpose(0, 1, 3, 2).reshape(-1, W.shape[2])   # (9*C_out, C_in)
        return matmul(im2col3x3(padded), flipped)                    # (N, H, W, C_in)


class ConvPool(Conv3x3):
    """A 3x3 convolution and the 2x2 max pooling after it, fused for speed; same results as Conv3x3 then
    MaxPool2. Each pooled output reads one 4x4 patch of the input; the convolution at pooling offset
    (a, b) is that patch times the 3x3 kernel placed at (a, b) in a 4x4 kernel of zeros. So the layer
    copies one patch per pooled pixel, and pooling is the maximum of 4 contiguous blocks."""

    def kernels4x4(self):
        W = self.params["W"]                                          # (3, 3, C_in, C_out)
        K = np.zeros((4, 4, 4) + W.shape[2:], W.dtype)                # (offset, 4, 4, C_in, C_out)
        for k, (a, b) in enumerate(OFFSETS_2X2):
            K[k, a:a + 3, b:b + 3] = W
        return K.reshape(4, -1, W.shape[-1])                          # (4, 16*C_in, C_out)

    def forward(self, x, keep=False):
        patches = patches4x4(x)                                       # (N, Hp, Wp, 16*C_in)
        flat = patches.reshape(-1, patches.shape[-1])
        kernels = self.kernels4x4()
        conv = np.empty((4, len(flat), kernels.shape[-1]), x.dtype)   # (4, N*Hp*Wp, C_out)
        for k in range(4):
            np.matmul(flat, kernels[k], out=conv[k])
        out = np.maximum(np.maximum(conv[0], conv[1]), np.maximum(conv[2], conv[3]))
        first = None
        if keep:
            first = conv == out                                       # keep only the first maximum
            taken = first[0].copy()
            for k in (1, 2, 3):
                first[k] &= ~taken
                taken |= first[k]
        out += self.params["b"]   # the same bias for the whole window: add it after the maximum
        return out.reshape(*patches.shape[:3], -1), ((flat, first, x.shape) if keep else None)

    def backward(self, dout, cache, need_dx=True):
        flat, first, x_shape = cache
        W = self.params["W"]
        d2 = dout.reshape(-1, W.shape[-1])                            # (N*Hp*Wp, C_out)
        dconv = first * d2                                            # (4, N*Hp*Wp, C_out)
        dW = np.zeros(W.shape, W.dtype)
        for k, (a, b) in enumerate(OFFSETS_2X2):                      # the 3x3 part of each 4x4 kernel
            dW += (flat.T @ dconv[k]).reshape(4, 4, *W.shape[2:])[a:a + 3, b:b + 3]
        grads = {"W": dW, "b": np.ones(len(d2), d2.dtype) @ d2}
        if not need_dx:
            return None, grads
        n, h, w, _ = x_shape
        hp, wp = dout.shape[1:3]
        spatial = np.zeros((n, h - 2, w - 2, W.shape[-1]), dout.dtype)   # (N, H-2, W-2, C_out)
        for k, (a, b) in enumerate(OFFSETS_2X2):
            spatial[:, a:2 * hp:2, b:2 * wp:2] = dconv[k].reshape(dout.shape)
        return self.input_grad(spatial, x_shape), grads


def patches4x4(x):
    """(N, H, W, C) -> (N, Hp, Wp, 16*C) with Hp = (H-2)//2: the 4x4 patch under each pooled output."""
    n, h, w, c = x.shape
    return windows(x, 4, 2, (h - 2) // 2, (w - 2) // 2)


def matmul(a, b):
    """(..., K) @ (K, M) as one matrix product (NumPy would loop over the leading axes of a)."""
    return (a.reshape(-1, a.shape[-1]) @ b).reshape(*a.shape[:-1], b.shape[-1])


def im2col3x3(x):
    """(N, H, W, C) -> (N, H-2, W-2, 9*C): the 3x3 window of every output pixel, ordered (i, j, c)."""
    n, h, w, c = x.shape
    return windows(x, 3, 1, h - 2, w - 2)


def windows(x, size, stride, rows, cols):
    """(N, H, W, C) -> (N, rows, cols, size*size*C): the size x size window at every stride-th pixel, ordered
    (i, j, c), copied. Two ways give the same array: with few channels (C < FEW_CHANNELS), size*size strided
    copies are faster (1.3-1.5x for C = 1) than one copy of runs only C values long; with more, one copy of a
    view of all windows is faster (each window row is size*C values in a row in memory)."""
    return (windows_by_offsets if x.shape[3] < FEW_CHANNELS else windows_by_view)(x, size, stride, rows, cols)


def windows_by_offsets(x, size, stride, rows, cols):
    """windows(), one strided copy per offset (a, b) of the window."""
    n, c = x.shape[0], x.shape[3]
    out = np.empty((n, rows, cols, size, size, c), x.dtype)
    for a in range(size):
        for b in range(size):
            out[:, :, :, a, b] = x[:, a:a + stride * rows:stride, b:b + stride * cols:stride]
    return out.reshape(n, rows, cols, size * size * c)


def windows_by_view(x, size, stride, rows, cols):
    """windows(), as one copy of a strided view of every window."""
    n, c = x.shape[0], x.shape[3]
    sn, sh, sw, sc = x.strides
    view = as_strided(x, (n, rows, cols, size, size, c), (sn, stride * sh, stride * sw, sh, sw, sc), writeable=False)
    return view.reshape(n, rows, cols, size * size * c)


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
        for (i, j), mask in zip(OFFSETS_2X2, first, strict=True):
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


def log_softmax(logits):
    """log(softmax(logits)) of (N, K) logits, stably: the row's largest logit is subtracted before exp."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def softmax_cross_entropy(logits, labels):
    """Mean cross-entropy of softmax(logits) against integer labels, and its gradient, stably."""
    n = len(logits)
    log_probs = log_softmax(logits)
    loss = -log_probs[np.arange(n), labels].mean()
    dlogits = np.exp(log_probs)
    dlogits[np.arange(n), labels] -= 1
    return float(loss), dlogits / n
