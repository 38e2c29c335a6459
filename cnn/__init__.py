"""A convolutional network written from scratch in NumPy. See README.md for the architecture grammar.

Importing cnn changes nothing process-wide; cnn.keep_freed_memory() is an explicit choice (cnn/malloc.py).
"""
from .arch import ArchError, parse_arch
from .data import MnistError, load_mnist
from .malloc import keep_freed_memory
from .model import Model, build_model, saliency
from .parallel import WorkerError
from .spec import NetSpec
from .training import DivergenceError, TrainConfig, evaluate, train
from .weights import WeightsError, load_model, save_model

__all__ = ["ArchError", "parse_arch", "MnistError", "load_mnist", "keep_freed_memory", "Model", "build_model",
           "saliency", "WorkerError", "NetSpec", "DivergenceError", "TrainConfig", "evaluate", "train",
           "WeightsError", "load_model", "save_model"]
