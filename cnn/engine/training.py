"""Training: a config and the mini-batch loop (the command line: python -m cnn train, in cnn/cli.py)."""
import contextlib
import dataclasses
import functools
import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Self

import numpy as np
from numpy.typing import NDArray
from threadpoolctl import threadpool_limits

from .augment import random_affine
from .layers import softmax_cross_entropy
from .model import Model, add_parts
from .optim import SGD, Adam
from .parallel import CORES, WorkerError, Workers

LOG = logging.getLogger(__name__)
MAX_SEED = 2**32 - 1
# Worker processes take a while to start and cost a little every step to copy and signal: below this many
# images in a run, or this many in a batch, one process is about as fast (docs/engine.md, "Training uses every core").
MIN_PARALLEL_IMAGES = 10000
MIN_PARALLEL_BATCH = 16
# A batch larger than this is refused: each image of a step is held as float32 (3 KB) in this process and again
# in the memory shared with the workers, so a 60,000-image batch took 400 MB; past a few hundred images MNIST
# training gains nothing from a larger batch.
MAX_BATCH = 512
# With a stop() function, a batch is computed STOP_CHECK_IMAGES images at a time and the test pass
# TEST_CHUNK images at a time, with a check between parts: even for the costliest network the grammar allows,
# a Stop or a closed tab then takes effect within a fraction of a second, not after a whole batch and test pass.
STOP_CHECK_IMAGES = 128
TEST_CHUNK = 512    # a multiple of cnn.engine.model.INFER_BATCH: the same logits as one pass


class DivergenceError(RuntimeError):
    """The loss became NaN or infinite; the weights from before the divergence are restored."""


@dataclass
class TrainConfig:
    """How to train; what is trained is the model's own description (cnn.NetSpec)."""
    epochs: int = 5            # passes over the training images
    lr: float = 0.002          # learning rate (step size)
    lr_decay: float = 0.6      # the learning rate is multiplied by this after every epoch
    batch_size: int = 64       # images per gradient step
    optimizer: str = "adam"    # "adam", or "sgd" (with momentum)
    momentum: float = 0.9      # SGD only; 0 is plain SGD, as in the origin
    n_train: int = 60000       # train on the first n_train training images
    augment: bool = False      # random small shifts, rotations and scalings of each training image
    seed: int = 0              # seeds the weights, the batch order and the augmentation

    def validate(self, n_available: int = 60000) -> Self:
        """Raise ValueError saying which setting is wrong and what is allowed."""
        checks = [
            (_is_int(self.epochs) and 1 <= self.epochs <= 1000, "epochs must be a whole number from 1 to 1000"),
            (_is_num(self.lr) and 0 < self.lr <= 10, "learning rate must be a number above 0 and at most 10"),
            (_is_num(self.lr_decay) and 0 < self.lr_decay <= 1, "learning rate decay must be above 0 and at most 1"),
            (_is_int(self.n_train) and 1 <= self.n_train <= n_available,
             f"number of training images must be from 1 to {n_available}"),
            (_is_int(self.batch_size) and 1 <= self.batch_size <= min(self.n_train, MAX_BATCH)
             if _is_int(self.n_train) else False,
             f"batch size must be at least 1 and at most the number of training images (and {MAX_BATCH})"),
            (self.optimizer in ("adam", "sgd"), "optimizer must be 'adam' or 'sgd'"),
            (_is_num(self.momentum) and 0 <= self.momentum < 1, "momentum must be from 0 to below 1"),
            (_is_int(self.seed) and 0 <= self.seed <= MAX_SEED, f"seed must be a whole number from 0 to {MAX_SEED}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)
        return self


def _is_int(v):
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def _is_num(v):
    return isinstance(v, (int, float, np.number)) and not isinstance(v, bool) and math.isfinite(v)


def evaluate(model: Model, x: NDArray, y: NDArray[np.integer]) -> tuple[float, float]:
    """Mean loss and accuracy of the model on images x (N, 28, 28) with labels y."""
    logits = model.logits(x)
    loss, _ = softmax_cross_entropy(logits, y)
    return loss, float((logits.argmax(1) == y).mean())


def train(model: Model, x_train: NDArray, y_train: NDArray[np.integer], x_test: NDArray, y_test: NDArray[np.integer],
          config: TrainConfig, callback: Callable[[dict[str, Any]], Any] | None = None,
          stop: Callable[[], bool] | None = None, processes: int | None = None) -> list[dict[str, Any]]:
    """Train `model` in place with mini-batches; append one record per epoch to model.history and return it.

    processes: how many processes share each batch; None uses every core (up to 4) for runs large enough,
    1 trains in this process only (a sweep's task, which already has a core of its own).

    callback(event) receives {"kind": "batch", ...} after every step and {"kind": "epoch", ...} after every
    epoch; when it returns a truthy value, training stops there and keeps the weights it has reached.
    stop() is also asked between parts of a batch and of the test pass (STOP_CHECK_IMAGES, TEST_CHUNK): when it
    returns True, the unfinished batch is dropped and the test pass ends at once, on the images tested so far
    (the record's test_images); an epoch stopped before its first step leaves no record.
    """
    config.validate(len(x_train))
    _check_data(x_train, y_train, x_test, y_test)
    rng = np.random.default_rng(config.seed)
    x, y = x_train[:config.n_train], y_train[:config.n_train]
    opt = (Adam(model.params, config.lr) if config.optimizer == "adam"
           else SGD(model.params, config.lr, config.momentum))
    model.meta.update(settings=dataclasses.asdict(config), seed=config.seed)
    n_batches = math.ceil(len(x) / config.batch_size)
    stop = stop or (lambda: False)
    # Every core: this process and CORES - 1 worker processes each take a slice of every batch, with one
    # BLAS thread each (BLAS's own threads only pay off for matrices far larger than a batch's).
    with _workers(model, config, len(x), processes) as workers, threadpool_limits(1, user_api="blas"):
        step = _in_parts(workers.loss_and_grads if workers else model.loss_and_grads, stop)
        test = functools.partial(_test, model, x_test, y_test, stop)
        return _train_epochs(model, x, y, config, opt, n_batches, rng, step, test, callback)


def _workers(model, config, n_images, processes=None):
    """Worker processes for a run large enough to gain from them, else nothing (one process trains)."""
    processes = CORES if processes is None else min(processes, CORES)
    if (os.name != "posix" or processes < 2 or config.batch_size < MIN_PARALLEL_BATCH
            or n_images * config.epochs < MIN_PARALLEL_IMAGES):
        return contextlib.nullcontext()
    try:
        return Workers(model, processes - 1, config.batch_size)
    except (OSError, ValueError, WorkerError) as e:   # e.g. no new processes allowed: one process still trains
        LOG.warning("training in one process: could not start worker processes (%s)", e)
        return contextlib.nullcontext()


def _in_parts(step, stop):
    """step(x, labels) computed STOP_CHECK_IMAGES images at a time, asking stop() between parts: None if it said so."""
    def parted(x, labels):
        parts = []
        for a in range(0, len(x), STOP_CHECK_IMAGES):
            if a and stop():
                return None
            parts.append(step(x[a:a + STOP_CHECK_IMAGES], labels[a:a + STOP_CHECK_IMAGES], len(x)))
        return add_parts(parts)
    return parted


def _train_epochs(model, x, y, config, opt, n_batches, rng, step, test, callback):
    for i, epoch in enumerate(range(len(model.history) + 1, len(model.history) + config.epochs + 1)):
        opt.lr = config.lr * config.lr_decay ** i
        before = model.get_weights()
        start, loss_sum, correct, seen, stop = time.perf_counter(), 0.0, 0, 0, False
        order = rng.permutation(len(x))
        for b in range(n_batches):
            idx = order[b * config.batch_size:(b + 1) * config.batch_size]
            images = x[idx]                                                     # (B, 28, 28)
            if config.augment:
                images = random_affine(images.astype(np.float32) * np.float32(1 / 255), rng)
            try:
                result = step(model.prepare(images), y[idx])
            except WorkerError:
                model.set_weights(before)
                raise
            if result is None:                                    # stopped inside the batch: it is dropped
                stop = True
                break
            loss, grads, logits = result
            if not np.isfinite(loss):
                model.set_weights(before)
                raise DivergenceError(f"the loss became {loss} in epoch {epoch}, batch {b + 1}: training diverged. "
                                      f"Try a smaller learning rate than {config.lr:g}. The weights from the start "
                                      "of this epoch were kept.")
            opt.step(grads)
            loss_sum += loss * len(idx)
            correct += int((logits.argmax(1) == y[idx]).sum())
            seen += len(idx)
            if callback and callback({"kind": "batch", "epoch": epoch, "batch": b + 1, "n_batches": n_batches,
                                      "loss": loss_sum / seen}):
                stop = True
                break
        if not seen:                                              # stopped before this epoch's first step
            break
        seconds = time.perf_counter() - start
        test_loss, test_acc, n_test, test_stopped = test(stopped=stop)
        record = {"epoch": epoch, "train_loss": loss_sum / seen, "train_acc": correct / seen, "test_loss": test_loss,
                  "test_acc": test_acc, "test_images": n_test, "seconds": seconds, "complete": not stop}
        model.history.append(record)
        if (callback and callback({"kind": "epoch", **record})) or stop or test_stopped:
            break
    return model.history


def _test(model, x, y, stop, stopped):
    """(loss, accuracy, images used, stopped) on the test images, TEST_CHUNK at a time: all of them, unless stop()
    says so between chunks; after a stop, only the first chunk (the figures of a stopped run come at once)."""
    parts = []
    for a in range(0, len(x), TEST_CHUNK):
        parts.append(model.logits(x[a:a + TEST_CHUNK]))                         # (TEST_CHUNK, 10)
        stopped = stopped or stop()
        if stopped:
            break
    logits = np.concatenate(parts)
    labels = y[:len(logits)]
    loss, _ = softmax_cross_entropy(logits, labels)
    return loss, float((logits.argmax(1) == labels).mean()), len(logits), stopped


def _check_data(x_train, y_train, x_test, y_test):
    for name, x, y in (("training", x_train, y_train), ("test", x_test, y_test)):
        if x.ndim != 3 or x.shape[1:] != (28, 28) or len(x) != len(y) or len(x) == 0:
            raise ValueError(f"{name} data must be N>0 images of 28x28 with N labels, got {x.shape} and {y.shape}")
        if y.min() < 0 or y.max() > 9:
            raise ValueError(f"{name} labels must be digits 0-9")
