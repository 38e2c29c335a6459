"""A convolutional network written from scratch in NumPy.

    cnn/engine/   the network itself: grammar, layers, model, optimizers, training (start reading here)
    cnn/files/    weights files, their metadata, MNIST
    cnn/inputs/   a canvas drawing or a photo -> the network's 28x28 input
    cnn/teach/    looking inside: trace, snapshots, fooling, calibration, evaluation, fine-tuning
    cnn/studies/  experiments, the architecture study, benchmarks, synthetic test sets
    cnn/cli.py    python -m cnn <command>

Importing cnn changes nothing process-wide; cnn.keep_freed_memory() is an explicit choice (cnn/engine/malloc.py).
"""
import sys

from .engine import (
                     ArchError,
                     DivergenceError,
                     Model,
                     NetSpec,
                     TrainConfig,
                     WorkerError,
                     build_model,
                     evaluate,
                     keep_freed_memory,
                     parse_arch,
                     saliency,
                     train,
)
from .files import MnistError, WeightsError, load_mnist, load_model
from .files.weights import save_model
from .teach.notdigit import not_a_digit

__all__ = ["ArchError", "parse_arch", "MnistError", "load_mnist", "keep_freed_memory", "Model", "build_model",
           "saliency", "WorkerError", "NetSpec", "DivergenceError", "TrainConfig", "evaluate", "train",
           "WeightsError", "load_model", "save_model", "not_a_digit"]


def _library_module_run_as_command():
    """`python -m cnn.<module>` of a module that is not a command would exit 0 and do nothing: say which command
    to run instead. (Parent packages are imported before the module runs, so this is the one place to say it.)"""
    argv = getattr(sys, "orig_argv", [])
    if "-m" not in argv[:-1]:
        return
    name = argv[argv.index("-m") + 1]
    if not name.startswith("cnn.") or name in ("cnn.__main__", "cnn.cli"):
        return
    from .cli import TOOLS
    if name not in {module for module, _ in TOOLS.values()}:
        sys.exit(f"{name} is a library module, not a command. The commands: python -m cnn --help")


_library_module_run_as_command()
