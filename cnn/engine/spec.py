"""One small, frozen description of a network: everything needed to build it again, and nothing about training.

A NetSpec travels whole: into weights files, to training worker processes, into copies of a model, and from
whatever front end asks for a network. Build a model from it with cnn.build_model(spec, seed=...).
"""
import math
from dataclasses import asdict, dataclass

import numpy as np

from .arch import parse_arch

ACTIVATIONS = ("relu", "none")
DTYPES = ("float32", "float64")


@dataclass(frozen=True)
class NetSpec:
    arch: str                   # the layers, in the grammar of cnn/engine/arch.py, e.g. "c16pc16"
    activation: str = "relu"    # after every convolution and hidden dense layer: "relu", or "none" (the origin's)
    input_offset: float = 0.0   # added to pixels in [0, 1] before the first layer; the origin used -0.5
    dtype: str = "float32"      # of the weights and of every computation; float64 for gradient checks

    def __post_init__(self) -> None:
        """Raise cnn.ArchError for a bad architecture, ValueError for any other bad field."""
        parse_arch(self.arch)
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, not {self.activation!r}")
        offset = self.input_offset
        if isinstance(offset, bool) or not isinstance(offset, (int, float)) or not math.isfinite(offset) \
                or abs(offset) > 1:
            raise ValueError(f"input offset must be a number from -1 to 1, not {offset!r}")
        object.__setattr__(self, "input_offset", float(offset))
        try:
            dtype = np.dtype(self.dtype).name                     # np.float64 and "float64" alike
        except TypeError:
            dtype = None
        if dtype not in DTYPES:
            raise ValueError(f"dtype must be one of {DTYPES}, not {self.dtype!r}")
        object.__setattr__(self, "dtype", dtype)

    def to_dict(self) -> dict[str, str | float]:
        return asdict(self)
