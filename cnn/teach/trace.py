"""Trace any number of a network's forward pass back to the numbers it was computed from.

stages(model, image) is the engine's Model.stages for one image: every output the Inside page shows, as a
list of Stage. trace(stage_list, s, unit, row, col) explains one value of stage s
with the engine's own arrays: a convolution's 3x3xC input patch, kernel, products, sum, bias and activation;
a pooling window and the value that won; a dense unit's inputs and weights; the output's logits and softmax.

The engine computes in float32 by matrix products (and the fused ConvPool layer pools before adding the bias
and applying ReLU, which gives the same numbers because the bias is the same in the whole window and ReLU
never changes which value is largest); a trace adds the products in float64 in plain order, so its total
equals the engine's value up to float32 rounding (about 1e-6 of the values' size).
"""
from dataclasses import dataclass

import numpy as np

from cnn.engine.layers import softmax


@dataclass(frozen=True)
class Stage:
    kind: str            # "input", "conv", "pool", "dense" or "output"
    label: str           # e.g. "c16: 26x26x16"
    values: np.ndarray   # (H, W, C) for one image; dense and output stages are (1, 1, units)
    source: int          # index of the stage this one reads (-1 for the input)
    layer: object        # the engine's layer that computed it (None for the input)
    relu: bool           # whether the activation (ReLU) was applied to it


def stages(model, image):
    """[Stage] for one (28, 28) image: the input, then every convolution (before its pooling, when fused),
    pooling, hidden dense layer and the output logits, in order: the engine's Model.stages, each stage
    reading the one before it. Writes nothing to the model."""
    x = np.asarray(image)
    found = model.stages(x[:1] if x.ndim == 3 else x)
    return [Stage(s.kind, s.label, s.values[0], i - 1, s.layer, s.relu) for i, s in enumerate(found)]


def trace(found, s, unit, row=0, col=0):
    """How stage s's value at (row, col, unit) was computed: a dict with "kind", "value" (the engine's number)
    and "total" (the same number recomputed from the parts shown), plus the parts of that kind."""
    stage = found[s]
    h, w, c = stage.values.shape
    if not (0 <= row < h and 0 <= col < w and 0 <= unit < c):
        raise IndexError(f"{stage.label} has no value at row {row}, column {col}, channel {unit}")
    source = found[stage.source].values if stage.source >= 0 else None
    result = {"pool": _pool, "conv": _conv, "dense": _dense, "output": _output}[stage.kind](stage, source, unit,
                                                                                           row, col)
    return {"kind": stage.kind, "label": stage.label, "unit": unit, "row": row, "col": col,
            "value": float(stage.values[row, col, unit]), **result}


def _activate(z, relu):
    return max(z, 0.0) if relu else z


def _conv(stage, source, unit, row, col):
    patch = source[row:row + 3, col:col + 3, :].astype(np.float64)              # (3, 3, C_in)
    kernel = stage.layer.params["W"][:, :, :, unit].astype(np.float64)           # (3, 3, C_in)
    products = patch * kernel
    bias = float(stage.layer.params["b"][unit])
    z = float(products.sum()) + bias
    return {"patch": patch, "kernel": kernel, "products": products, "sum": float(products.sum()), "bias": bias,
            "pre_activation": z, "relu": stage.relu, "total": _activate(z, stage.relu)}


def _pool(stage, source, unit, row, col):
    window = source[2 * row:2 * row + 2, 2 * col:2 * col + 2, unit].astype(np.float64)   # (2, 2)
    winner = divmod(int(window.argmax()), 2)                           # the first maximum, as the engine's order
    return {"window": window, "winner": winner, "origin": (2 * row, 2 * col), "total": float(window.max())}


def _dense(stage, source, unit, row, col):
    inputs = source.reshape(-1).astype(np.float64)                      # (n_in,), flattened (H, W, C) order
    weights = stage.layer.params["W"][:, unit].astype(np.float64)       # (n_in,)
    products = inputs * weights
    bias = float(stage.layer.params["b"][unit])
    z = float(products.sum()) + bias
    return {"inputs": inputs, "weights": weights, "products": products, "sum": float(products.sum()),
            "bias": bias, "pre_activation": z, "relu": stage.relu, "total": _activate(z, stage.relu),
            "input_shape": source.shape}


def _output(stage, source, unit, row, col):
    parts = _dense(stage, source, unit, row, col)
    logits = stage.values.reshape(-1).astype(np.float64)                # (10,)
    shifted = np.exp(logits - logits.max())
    return {**parts, "logits": logits, "exp": shifted, "probabilities": softmax(logits[None])[0]}
