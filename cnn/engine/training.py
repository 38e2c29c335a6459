"""Training: a config with its limits, and the mini-batch loop (the command line: python -m cnn train, cnn/cli.py)."""
import contextlib
import dataclasses
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


@dataclass(frozen=True)
class Limit:
    """The values a numeric setting may take: lo to hi, both included unless said otherwise."""
    lo: float
    hi: float
    whole: bool = False       # whole numbers only
    above_lo: bool = False    # lo itself is not allowed
    below_hi: bool = False    # hi itself is not allowed

    def holds(self, v: Any) -> bool:
        kinds = (int, np.integer) if self.whole else (int, float, np.number)
        if isinstance(v, bool) or not isinstance(v, kinds):
            return False                  # below: NaN fails every comparison, inf is past hi, 10**400 compares exactly
        return (self.lo < v if self.above_lo else self.lo <= v) and (v < self.hi if self.below_hi else v <= self.hi)

    def __str__(self) -> str:
        show = (lambda v: str(int(v))) if self.whole else (lambda v: f"{v:g}")
        low = f"above {show(self.lo)}" if self.above_lo else f"from {show(self.lo)}"
        high = (f"to below {show(self.hi)}" if self.below_hi else
                f"and at most {show(self.hi)}" if self.above_lo else f"to {show(self.hi)}")
        return f"{'a whole number' if self.whole else 'a number'} {low} {high}"


# The one home of every training limit: TrainConfig.validate checks them, and so does the weights files'
# schema (cnn/files/metadata.py) when it reads a file's settings.
LIMITS = {
    "epochs": Limit(1, 1000, whole=True),
    "lr": Limit(0, 10, above_lo=True),
    "lr_decay": Limit(0, 1, above_lo=True),
    "batch_size": Limit(1, MAX_BATCH, whole=True),
    "momentum": Limit(0, 1, below_hi=True),
    "n_train": Limit(1, 60000, whole=True),
    "seed": Limit(0, MAX_SEED, whole=True),
}
OPTIMIZERS = ("adam", "sgd")


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
        """Raise ValueError saying which setting is wrong and what is allowed (LIMITS)."""
        n_ok = LIMITS["n_train"].holds(self.n_train) and self.n_train <= n_available
        checks = [
            (LIMITS["epochs"].holds(self.epochs), f"epochs must be {LIMITS['epochs']}"),
            (LIMITS["lr"].holds(self.lr), f"learning rate must be {LIMITS['lr']}"),
            (LIMITS["lr_decay"].holds(self.lr_decay), f"learning rate decay must be {LIMITS['lr_decay']}"),
            (n_ok, f"number of training images must be from 1 to {n_available}"),
            (n_ok and LIMITS["batch_size"].holds(self.batch_size) and self.batch_size <= self.n_train,
             f"batch size must be at least 1 and at most the number of training images (and {MAX_BATCH})"),
            (self.optimizer in OPTIMIZERS, "optimizer must be 'adam' or 'sgd'"),
            (LIMITS["momentum"].holds(self.momentum), f"momentum must be {LIMITS['momentum']}"),
            (LIMITS["seed"].holds(self.seed), f"seed must be {LIMITS['seed']}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)
        return self


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
    first = len(model.history) + 1
    # The edges: every core (this process and CORES - 1 worker processes each take a slice of every batch, with
    # one BLAS thread each: BLAS's own threads only pay off for matrices far larger than a batch's), and a batch
    # computed in parts, asking stop() between them.
    with _workers(model, config, len(x), processes) as workers, threadpool_limits(1, user_api="blas"):
        compute = _in_parts(workers.loss_and_grads if workers else model.loss_and_grads, stop)
        for i, epoch in enumerate(range(first, first + config.epochs)):
            opt.lr = config.lr * config.lr_decay ** i
            before, start = model.get_weights(), time.perf_counter()
            loss_sum, correct, seen, b, stopped = 0.0, 0, 0, 0, False
            try:
                for b, (loss, labels, logits) in enumerate(steps(model, opt, compute, _batches(x, y, config, rng)), 1):
                    loss_sum += loss * len(labels)
                    correct += int((logits.argmax(1) == labels).sum())
                    seen += len(labels)
                    if callback and callback({"kind": "batch", "epoch": epoch, "batch": b, "n_batches": n_batches,
                                              "loss": loss_sum / seen}):
                        stopped = True
                        break
            except (WorkerError, DivergenceError) as e:
                model.set_weights(before)
                if isinstance(e, WorkerError):
                    raise
                raise DivergenceError(f"{e} in epoch {epoch}, batch {b + 1}: training diverged. Try a smaller "
                                      f"learning rate than {config.lr:g}. The weights from the start of this epoch "
                                      "were kept.") from None
            stopped = stopped or b < n_batches                    # stop() said so inside a batch: it is dropped
            if not seen:                                          # stopped before this epoch's first step
                break
            seconds = time.perf_counter() - start
            test_loss, test_acc, n_test, test_stopped = _test(model, x_test, y_test, stop, stopped)
            record = {"epoch": epoch, "train_loss": loss_sum / seen, "train_acc": correct / seen,
                      "test_loss": test_loss, "test_acc": test_acc, "test_images": n_test, "seconds": seconds,
                      "complete": not stopped}
            model.history.append(record)
            if (callback and callback({"kind": "epoch", **record})) or stopped or test_stopped:
                break
    return model.history


def steps(model, opt, compute, batches):
    """The loop itself, shared by cnn.train and fine-tuning (cnn/teach/finetune.py): for each (images, labels)
    of `batches`, forward and backward (compute, e.g. model.loss_and_grads), then the optimizer's step.
    Yields (loss, labels, logits) after every step. Ends early when compute returns None (it was asked to stop
    inside the batch, which is dropped). A loss that is not finite raises DivergenceError before the step."""
    for images, labels in batches:
        result = compute(model.prepare(images), labels)                         # forward and backward
        if result is None:
            return
        loss, grads, logits = result
        if not np.isfinite(loss):
            raise DivergenceError(f"the loss became {loss}")
        opt.step(grads)
        yield loss, labels, logits


def _batches(x, y, config, rng):
    """One epoch's batches, (images (B, 28, 28), labels (B,)), in a new random order; augmented if asked."""
    order = rng.permutation(len(x))
    for a in range(0, len(x), config.batch_size):
        idx = order[a:a + config.batch_size]
        images = x[idx]                                                         # (B, 28, 28)
        if config.augment:
            images = random_affine(images.astype(np.float32) * np.float32(1 / 255), rng)
        yield images, y[idx]


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
