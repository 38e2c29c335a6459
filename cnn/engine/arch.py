"""The architecture grammar: one string names a whole network.

    arch   := layer+
    layer  := "c" N      3x3 convolution with N filters (valid padding, stride 1), then the activation
            | "p"        2x2 max pooling, stride 2 (odd sizes round down: 13 -> 6)
            | "d" N      hidden dense layer with N units, then the activation
    N      := a decimal number without leading zeros

A dense softmax layer with 10 outputs always ends the network; it is not written.
Limits: 1 <= N <= 256 filters for "c", 1 <= N <= 1024 units for "d", at most 12 layers,
at most 5,000,000 parameters in all, convolution and pooling must come before any "d", and the
image (28x28) must stay at least 1x1 after every layer.

Compute budget: one image's forward pass may cost at most 8,000,000, counted as its multiply-adds plus
25 for every value a layer copies or writes (a convolution copies the 3x3xC window of each output pixel,
then writes its N outputs; pooling writes its outputs). Moving a value through memory costs about as
much as 25 multiply-adds in matrix products here, so a network with few multiply-adds but huge
intermediate arrays (c256c2) is as costly as one with many. The budget keeps explaining one image
(a prediction, a saliency map and 169 occluded copies) near 0.1 s of one core for any allowed network.

Examples: the origin's c8p, c16p, c8pc8, c8pc16, c16pc8, c16pc16, c8pc8p, c8pc16p, c16pc8p,
c16pc16p; a stronger one: c32pc64pd128.
"""
import re

MAX_FILTERS = 256
MAX_UNITS = 1024
MAX_LAYERS = 12
MAX_PARAMS = 5_000_000
MAX_COST = 8_000_000       # per image and forward pass: multiply-adds + MOVE_COST x values copied or written
MOVE_COST = 25
IMAGE_SIZE = 28
HELP = ('use c<N> for a 3x3 convolution with N filters (1-256), p for 2x2 max pooling, '
        'd<N> for a dense layer with N units (1-1024), e.g. "c16pc16" or "c32pc64pd128"')

_TOKEN = re.compile(r"([cd])(\d*)|(p)")


class ArchError(ValueError):
    """An architecture string that the grammar does not allow."""


def _fail(arch, pos, what):
    raise ArchError(f"invalid architecture {arch!r} at character {pos + 1}: {what}; {HELP}")


OUTPUT = ("d", 10)   # the dense softmax layer that ends every network


def layer_shapes(tokens):
    """The one walk of the grammar: (kind, n, (H, W, C) read, (H, W, C) written) of each layer of `tokens`, in
    order (an iterable of (kind, n), read lazily). The cost, the parameter count, the parser and the model's
    build all take their shapes from here; add OUTPUT to the tokens to walk the softmax layer too."""
    shape = (IMAGE_SIZE, IMAGE_SIZE, 1)
    for kind, n in tokens:
        h, w, c = shape
        out = (h - 2, w - 2, n) if kind == "c" else (h // 2, w // 2, c) if kind == "p" else (1, 1, n)
        yield kind, n, shape, out
        shape = out


def layer_params(kind, n, shape):
    """Weights and biases of one layer that reads `shape`: a 3x3xC kernel per filter, or a full dense matrix."""
    h, w, c = shape
    return 9 * c * n + n if kind == "c" else h * w * c * n + n if kind == "d" else 0


def n_params(tokens: list[tuple[str, int | None]]) -> int:
    """Weights and biases of a network of parsed layers, the 10-way softmax layer included."""
    return sum(layer_params(kind, n, shape) for kind, n, shape, _ in layer_shapes([*tokens, OUTPUT]))


def cost(tokens):
    """(multiply-adds, values copied or written) of one image's forward pass through parsed layers."""
    macs = moved = 0
    for kind, n, (h, w, c), (ho, wo, co) in layer_shapes([*tokens, OUTPUT]):
        if kind == "c":
            macs += ho * wo * 9 * c * n
            moved += ho * wo * (9 * c + n)                         # the im2col copy, then the output
        elif kind == "p":
            moved += ho * wo * co
        else:
            macs, moved = macs + h * w * c * n, moved + n
    return macs, moved


def _read(arch, starts):
    """The tokens of `arch`, each checked as it is read; the position of each goes to `starts`."""
    pos, dense_seen = 0, False
    while pos < len(arch):
        m = _TOKEN.match(arch, pos)
        if not m:
            _fail(arch, pos, f"unexpected character {arch[pos]!r}")
        kind, digits = (m.group(1), m.group(2)) if m.group(1) else ("p", None)
        n = None
        if kind in "cd":
            limit = MAX_FILTERS if kind == "c" else MAX_UNITS
            if not digits:
                _fail(arch, pos, f"{kind!r} must be followed by a number")
            if digits.startswith("0") or int(digits) > limit:
                _fail(arch, pos, f"{kind}{digits} needs a number from 1 to {limit}")
            n = int(digits)
        if kind in "cp" and dense_seen:
            _fail(arch, pos, f"{kind!r} cannot follow a dense layer")
        dense_seen |= kind == "d"
        starts.append(pos)
        if len(starts) > MAX_LAYERS:
            _fail(arch, pos, f"more than {MAX_LAYERS} layers")
        yield kind, n
        pos = m.end()


def parse_arch(arch: str) -> list[tuple[str, int | None]]:
    """Parse an architecture string into [(kind, n), ...], kind in "c", "p", "d" (n is None for "p").
    Raises ArchError for any string the grammar does not allow, including one over the compute budget.
    Errors are found in the order of the string: the first wrong character or layer is the one named."""
    if not isinstance(arch, str) or not arch.strip():
        raise ArchError(f"invalid architecture {arch!r}: it is empty; {HELP}")
    if len(arch) > 100:
        raise ArchError(f"invalid architecture: it is {len(arch)} characters long (at most 100); {HELP}")
    tokens, starts, params = [], [], 0
    for kind, n, shape, out in layer_shapes(_read(arch, starts)):
        if out[0] < 1 or out[1] < 1:
            _fail(arch, starts[-1], "this layer would shrink the image below 1x1")
        params += layer_params(kind, n, shape)
        if params + layer_params(*OUTPUT, out) > MAX_PARAMS:         # with the softmax layer after it
            _fail(arch, starts[-1], f"the network would have more than {MAX_PARAMS:,} parameters")
        tokens.append((kind, n))
    macs, moved = cost(tokens)
    if macs + MOVE_COST * moved > MAX_COST:
        raise ArchError(f"invalid architecture {arch!r}: one image would cost {macs + MOVE_COST * moved:,} "
                        f"({macs:,} multiply-adds and {moved:,} values moved, at {MOVE_COST} each); the compute "
                        f"budget is {MAX_COST:,} per image: use fewer or smaller convolutions, or pool earlier; {HELP}")
    return tokens
