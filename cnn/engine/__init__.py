"""The engine: a convolutional network written from scratch in NumPy, and nothing else.

Read in this order: arch.py (the grammar), spec.py (a network's description), reference.py (convolution and
pooling as loops, the textbook way), layers.py (forward and backward of each layer, fast), model.py (layers in a
chain), optim.py, training.py (the loop), parallel.py (worker processes).
It imports nothing from the rest of cnn/: this folder works copied out alone.
"""
from .arch import ArchError, parse_arch
from .malloc import keep_freed_memory
from .model import Model, build_model, saliency
from .parallel import WorkerError
from .spec import NetSpec
from .training import DivergenceError, TrainConfig, evaluate, train

__all__ = ["ArchError", "parse_arch", "keep_freed_memory", "Model", "build_model", "saliency", "WorkerError",
           "NetSpec", "DivergenceError", "TrainConfig", "evaluate", "train"]
