"""A network built from its description (cnn.NetSpec): forward, backward, prediction, looking inside.
It holds compute only: cnn/files/weights.py turns a model into bytes and back."""
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from .arch import IMAGE_SIZE, OUTPUT, layer_shapes, parse_arch
from .layers import Conv3x3, ConvPool, Dense, MaxPool2, ReLU, softmax, softmax_cross_entropy
from .spec import NetSpec

N_CLASSES = OUTPUT[1]   # digits 0-9: the softmax layer that ends every network
INFER_BATCH = 64  # images per forward pass when predicting many: small enough to stay in the core's cache
CACHE_BYTES = 2**21  # a core's L2 cache, typically
MIN_CHUNK, MAX_CHUNK = 16, 64  # images per training chunk (see Model.train_chunk)

Floats = NDArray[np.floating]
Params = list[dict[str, Floats]]    # one dict of arrays per layer ("W", "b"), as in Model.params


class Stage(NamedTuple):
    """One map of Model.stages."""
    kind: str            # "input", "conv", "pool", "dense" or "output"
    values: Floats       # (N, H, W, C); dense and output stages are (N, 1, 1, units)
    layer: Any           # the layer that computed it (None for the input)
    relu: bool           # whether the activation (ReLU) was applied to it

    @property
    def label(self) -> str:
        """e.g. "c16: 26x26x16", "p: 13x13x16", "d128: 1x1x128", "output: 1x1x10", "input: 28x28x1"."""
        h, w, c = self.values.shape[1:]
        name = {"conv": f"c{c}", "pool": "p", "dense": f"d{c}"}.get(self.kind, self.kind)
        return f"{name}: {h}x{w}x{c}"


class Model:
    def __init__(self, spec: NetSpec, seed: int = 0) -> None:
        self.spec = spec
        self.dtype = np.dtype(spec.dtype)
        self.history: list[dict[str, Any]] = []     # one dict per epoch, appended by cnn.train
        self.meta: dict[str, Any] = {"seed": seed}  # training settings and the like, saved with the weights
        self.layers, cols = self._build(parse_arch(spec.arch), np.random.default_rng(seed))
        # images per forward and backward pass in training: a power of two from MIN_CHUNK to MAX_CHUNK whose
        # largest im2col copy fits in CACHE_BYTES (larger chunks spill out of the cache; smaller ones pay
        # more in the calls' own overhead than they gain)
        fit = max(1, CACHE_BYTES // (cols * self.dtype.itemsize))
        self.train_chunk = min(max(1 << (fit.bit_length() - 1), MIN_CHUNK), MAX_CHUNK)

    @property
    def arch(self) -> str:
        return self.spec.arch

    @property
    def activation(self) -> str:
        return self.spec.activation

    @property
    def input_offset(self) -> float:
        return self.spec.input_offset

    def copy(self) -> "Model":
        """An independent model with the same description, weights, history and metadata."""
        twin = Model(self.spec)
        twin.set_weights(self.get_weights())
        twin.history = [dict(r) for r in self.history]
        twin.meta = dict(self.meta)
        return twin

    def _build(self, tokens, rng):
        relu = self.activation == "relu"
        gain = 2.0 if relu else 1.0
        shapes = list(layer_shapes([*tokens, OUTPUT]))   # (kind, n, (H, W, C) read, (H, W, C) written)
        layers = []
        cols = 1                # the largest im2col copy of one image, in values
        t = 0
        while t < len(shapes):
            kind, n, (h, w, c), _ = shapes[t]
            fused = kind == "c" and shapes[t + 1][0] == "p"
            if kind == "c":
                # A convolution followed by pooling runs as one fused layer; ReLU goes after the pooling
                # (they commute, and the pooled map is 4 times smaller).
                layers.append((ConvPool if fused else Conv3x3)(c, n, rng, gain, self.dtype))
                forward = (h - 2) // 2 * ((w - 2) // 2) * 16 * c if fused else (h - 2) * (w - 2) * 9 * c
                cols = max(cols, forward, h * w * 9 * n if len(layers) > 1 else 0)   # backward: input gradient
            elif kind == "p":
                layers.append(MaxPool2())
            else:
                last = t == len(shapes) - 1                  # the softmax layer: no activation, LeCun's gain
                layers.append(Dense(h * w * c, n, rng, 1.0 if last else gain, self.dtype))
                if last:
                    break
            if relu and kind != "p":
                layers.append(ReLU())
            t += 1 + fused
        return layers, cols

    # -- parameters ---------------------------------------------------------------------------
    @property
    def params(self) -> Params:
        return [layer.params for layer in self.layers]

    @property
    def n_params(self) -> int:
        return sum(a.size for p in self.params for a in p.values())

    def get_weights(self) -> Params:
        return [{k: a.copy() for k, a in p.items()} for p in self.params]

    def set_weights(self, weights: Params) -> None:
        for p, saved in zip(self.params, weights, strict=True):
            for k in p:
                p[k][...] = saved[k]

    # -- computation --------------------------------------------------------------------------
    def prepare(self, x: NDArray) -> Floats:
        """(N, 28, 28) or (28, 28) images, uint8 0-255 or float 0-1 -> (N, 28, 28, 1) network input."""
        x = np.asarray(x)
        if x.ndim == 2:
            x = x[None]
        if x.ndim != 3 or x.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
            raise ValueError(f"expected images of shape (N, 28, 28), got {x.shape}")
        was_uint8 = x.dtype == np.uint8
        x = x.astype(self.dtype)                                     # always a copy: changed in place below
        if was_uint8:
            x *= self.dtype.type(1 / 255)
        if self.input_offset:
            x += self.dtype.type(self.input_offset)
        return x[..., None]                                          # (N, 28, 28, 1)

    def forward(self, x: Floats, keep: bool = False) -> tuple[Floats, list[Any]]:
        """Network input (N, 28, 28, 1) -> logits (N, 10), and each layer's cache when keep."""
        caches = []
        for layer in self.layers:
            x, cache = layer.forward(x, keep)
            caches.append(cache)
        return x, caches

    def backward(self, dlogits: Floats, caches: list[Any], need_dx: bool = False) -> tuple[Floats | None, Params]:
        """Gradients of every layer's parameters (and of the input when need_dx) from dL/dlogits."""
        grads, d = [None] * len(self.layers), dlogits
        for i in reversed(range(len(self.layers))):
            d, grads[i] = self.layers[i].backward(d, caches[i], need_dx=need_dx or i > 0)
        return d, grads

    def loss_and_grads(self, x: Floats, labels: NDArray[np.integer],
                       n_batch: int | None = None) -> tuple[float, Params, Floats]:
        """One training step's work on a prepared batch x: mean loss, parameter gradients and logits.
        When x is a slice of a batch of n_batch images, the loss and gradients are weighted as its share,
        so that the slices' results add up to the batch's (cnn.engine.parallel computes slices in other processes).
        It goes through x train_chunk images at a time, so that each layer's buffers stay in the core's cache."""
        n_batch = n_batch or len(x)
        step = self.train_chunk
        return add_parts([self._chunk_grads(x[i:i + step], labels[i:i + step], n_batch)
                          for i in range(0, len(x), step)])

    def _chunk_grads(self, x, labels, n_batch):
        share = len(x) / n_batch
        with np.errstate(over="ignore", invalid="ignore"):   # a diverging loss is reported by cnn.train
            logits, caches = self.forward(x, keep=True)
            loss, dlogits = softmax_cross_entropy(logits, labels)
            return loss * share, self.backward(dlogits * self.dtype.type(share), caches)[1], logits

    def logits(self, x: NDArray) -> Floats:
        x = self.prepare(x)
        return np.concatenate([self.forward(x[i:i + INFER_BATCH])[0] for i in range(0, len(x), INFER_BATCH)]
                              or [np.zeros((0, N_CLASSES), self.dtype)])

    def predict_proba(self, x: NDArray) -> Floats:
        return softmax(self.logits(x))

    def predict(self, x: NDArray) -> NDArray[np.intp]:
        return self.logits(x).argmax(axis=1)

    # -- looking inside -----------------------------------------------------------------------
    def stages(self, x: NDArray) -> list[Stage]:
        """Every map the network computes on the way to its logits, in order: the input, each convolution
        (activated; of a fused layer, the whole convolution before its pooling), pooling, hidden dense layer
        and the output logits, as [Stage] with (N, H, W, C) values (dense ones (N, 1, 1, units))."""
        x = self.prepare(x)                                            # (N, 28, 28, 1)
        found = [Stage("input", x, None, False)]
        for i, layer in enumerate(self.layers):
            out = layer.forward(x)[0]
            if isinstance(layer, ReLU):                                # the layer before is shown activated
                found[-1] = found[-1]._replace(values=out.reshape(found[-1].values.shape), relu=True)
            elif isinstance(layer, ConvPool):                          # the whole convolution, then its pooling
                conv = Conv3x3.forward(layer, x)[0]
                relu = i + 1 < len(self.layers) and isinstance(self.layers[i + 1], ReLU)
                found.append(Stage("conv", np.maximum(conv, 0) if relu else conv, layer, relu))
                found.append(Stage("pool", out, layer, False))
            elif isinstance(layer, Dense):
                kind = "output" if i == len(self.layers) - 1 else "dense"
                found.append(Stage(kind, out.reshape(len(out), 1, 1, -1), layer, False))
            else:
                found.append(Stage("conv" if isinstance(layer, Conv3x3) else "pool", out, layer, False))
            x = out
        return found

    def feature_maps(self, x: NDArray) -> list[tuple[str, Floats]]:
        """[(label, (N, H, W, C) array)] after every convolution (with its activation) and pooling."""
        return [(s.label, s.values) for s in self.stages(x) if s.kind in ("conv", "pool")]

    def filters(self) -> list[tuple[str, Floats]]:
        """[(label, (3, 3, C_in, C_out) weights)] of every convolution layer."""
        convs = [layer for layer in self.layers if isinstance(layer, Conv3x3)]
        return [(f"conv {i + 1}", c.params["W"]) for i, c in enumerate(convs)]


def add_grads(grads, more):
    """grads += more, for two lists of gradient dicts like Model.params."""
    for g, m in zip(grads, more, strict=True):
        for k in g:
            g[k] += m[k]


def add_parts(parts):
    """[(loss, grads, logits) of each slice of a batch, weighted as its share] -> the batch's (loss, grads, logits)."""
    loss, grads, logits = parts[0]
    for more in parts[1:]:
        loss += more[0]
        add_grads(grads, more[1])
    return loss, grads, np.concatenate([p[2] for p in parts]) if len(parts) > 1 else logits


def build_model(spec: NetSpec | str, seed: int = 0, **fields: Any) -> Model:
    """A new network with He-initialised weights drawn from `seed`. `spec` is a NetSpec, or an architecture
    string with the other NetSpec fields as keywords: build_model("c8p", activation="none")."""
    if not isinstance(spec, NetSpec):
        spec = NetSpec(spec, **fields)
    elif fields:
        raise TypeError("give either a NetSpec or an architecture string with its fields, not both")
    return Model(spec, seed)


def saliency(model: Model, image: NDArray, target: int | None = None) -> Floats:
    """d(score of `target`, default the predicted class)/d(input pixel) for one (28, 28) image,
    by the engine's own backward pass. Writes nothing to the model."""
    x = model.prepare(image)[:1]
    logits, caches = model.forward(x, keep=True)
    target = int(logits[0].argmax()) if target is None else int(target)
    dlogits = np.zeros_like(logits)
    dlogits[0, target] = 1
    dx, _ = model.backward(dlogits, caches, need_dx=True)
    return dx[0, :, :, 0] * (1 / 255 if np.asarray(image).dtype == np.uint8 else 1)
