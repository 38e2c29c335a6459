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

Examples: the origin's c8p, c16p, c8pc8, c8pc16, c16pc8, c16pc16, c8pc8p, c8pc16p, c16pc8p,
c16pc16p; a stronger one: c32pc64pd128.
"""
import re

MAX_FILTERS = 256
MAX_UNITS = 1024
MAX_LAYERS = 12
MAX_PARAMS = 5_000_000
IMAGE_SIZE = 28
HELP = ('use c<N> for a 3x3 convolution with N filters (1-256), p for 2x2 max pooling, '
        'd<N> for a dense layer with N units (1-1024), e.g. "c16pc16" or "c32pc64pd128"')

_TOKEN = re.compile(r"([cd])(\d*)|(p)")


class ArchError(ValueError):
    """An architecture string that the grammar does not allow."""


def _fail(arch, pos, what):
    raise ArchError(f"invalid architecture {arch!r} at character {pos + 1}: {what}; {HELP}")


def parse_arch(arch):
    """Parse an architecture string into [(kind, n), ...], kind in "c", "p", "d" (n is None for "p")."""
    if not isinstance(arch, str) or not arch.strip():
        raise ArchError(f"invalid architecture {arch!r}: it is empty; {HELP}")
    if len(arch) > 100:
        raise ArchError(f"invalid architecture: it is {len(arch)} characters long (at most 100); {HELP}")
    tokens, pos, size, channels, params, dense_seen = [], 0, IMAGE_SIZE, 1, 0, False
    while pos < len(arch):
        m = _TOKEN.match(arch, pos)
        if not m:
            _fail(arch, pos, f"unexpected character {arch[pos]!r}")
        kind, digits = (m.group(1), m.group(2)) if m.group(1) else ("p", None)
        if kind in "cd":
            limit = MAX_FILTERS if kind == "c" else MAX_UNITS
            if not digits:
                _fail(arch, pos, f"{kind!r} must be followed by a number")
            if digits.startswith("0") or int(digits) > limit:
                _fail(arch, pos, f"{kind}{digits} needs a number from 1 to {limit}")
            n = int(digits)
        else:
            n = None
        if kind in "cp" and dense_seen:
            _fail(arch, pos, f"{kind!r} cannot follow a dense layer")
        if kind == "c":
            size, channels, params = size - 2, n, params + 9 * channels * n + n
        elif kind == "p":
            size //= 2
        else:
            size, channels, params = 1, n, params + size * size * channels * n + n
        dense_seen |= kind == "d"
        if size < 1:
            _fail(arch, pos, "this layer would shrink the image below 1x1")
        if params + size * size * channels * 10 > MAX_PARAMS:
            _fail(arch, pos, f"the network would have more than {MAX_PARAMS:,} parameters")
        tokens.append((kind, n))
        if len(tokens) > MAX_LAYERS:
            _fail(arch, pos, f"more than {MAX_LAYERS} layers")
        pos = m.end()
    return tokens
