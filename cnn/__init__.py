"""A convolutional network written from scratch in NumPy. See README.md for the architecture grammar."""
from .arch import ArchError, parse_arch
from .data import MnistError, load_mnist
from .malloc import keep_freed_memory
from .model import Model, build_model, saliency
from .parallel import WorkerError
from .training import DivergenceError, TrainConfig, evaluate, train
from .weights import WeightsError, load_model

keep_freed_memory()

__all__ = ["ArchError", "parse_arch", "MnistError", "load_mnist", "Model", "build_model", "saliency",
           "DivergenceError", "WorkerError", "TrainConfig", "evaluate", "train", "WeightsError", "load_model"]
