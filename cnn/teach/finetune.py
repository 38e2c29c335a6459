"""Fine-tuning on a person's own drawings, mixed with MNIST so the model does not forget MNIST.

The given model is never changed (it may be shared, read-only, by other threads): the work happens
on a copy, which is returned.
"""
import time
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from cnn.engine.augment import random_affine
from cnn.engine.optim import Adam
from cnn.engine.training import LIMITS, DivergenceError, evaluate, steps


@dataclass
class FinetuneConfig:
    steps: int = 60            # gradient steps; each sees batch_size images
    batch_size: int = 64       # images per step
    user_share: float = 0.125  # fraction of each batch from the user's drawings (8 of 64); the rest is MNIST
                               # (a larger share made a single drawing cost several points of MNIST accuracy)
    lr: float = 0.001          # Adam step size
    augment: bool = True       # random small shifts, rotations and scalings of the user's drawings
    seed: int = 0              # seeds the MNIST draw, the user draw and the augmentation


def _as_float(x):
    """(N, 28, 28) uint8 0-255 or float 0-1 -> float32 0-1."""
    x = np.asarray(x)
    return x.astype(np.float32) * np.float32(1 / 255) if x.dtype == np.uint8 else x.astype(np.float32)


def _check(user_x, user_y, mnist_x, mnist_y):
    for name, x, y in (("your drawings", user_x, user_y), ("MNIST", mnist_x, mnist_y)):
        x, y = np.asarray(x), np.asarray(y)
        if x.ndim != 3 or x.shape[1:] != (28, 28) or len(x) != len(y) or len(x) == 0:
            raise ValueError(f"fine-tuning needs {name}: N>0 images of 28x28 with N labels, "
                             f"got {x.shape} and {y.shape}")
        if y.min() < 0 or y.max() > 9:
            raise ValueError(f"the labels of {name} must be digits 0-9")


def _batch(user_x, user_y, mnist_x, mnist_y, config, rng):
    """The user's drawings (drawn with replacement, augmented) and MNIST images, in config.user_share."""
    n_user = max(1, round(config.batch_size * config.user_share))
    u = rng.integers(len(user_x), size=n_user)
    m = rng.integers(len(mnist_x), size=config.batch_size - n_user)
    drawings = user_x[u]                                               # (n_user, 28, 28) in [0, 1]
    if config.augment:
        drawings = random_affine(drawings, rng)
    images = np.concatenate([drawings, _as_float(mnist_x[m])])         # (B, 28, 28)
    return images, np.concatenate([user_y[u], mnist_y[m]]).astype(np.intp)


def finetune(model, user_x, user_y, mnist_x, mnist_y, config=None, x_eval=None, y_eval=None, callback=None):
    """A NEW model: `model`'s copy trained for config.steps steps on batches that mix the user's drawings
    (user_x (N, 28, 28) with labels user_y) with MNIST images (mnist_x, mnist_y), by the engine's own loop
    (cnn.engine.training.steps). With x_eval/y_eval, the result's test loss and accuracy are measured and
    recorded in its history. callback(step, n_steps, loss) may return True to stop early."""
    config = config or FinetuneConfig()
    if not (1 <= config.steps <= 10000 and 1 <= config.batch_size <= 1024 and 0 < config.user_share < 1
            and 0 < config.lr <= 1 and LIMITS["seed"].holds(config.seed)):
        raise ValueError(f"fine-tuning settings out of range: {config}")
    _check(user_x, user_y, mnist_x, mnist_y)
    user_x, user_y = _as_float(user_x), np.asarray(user_y)
    rng = np.random.default_rng(config.seed)
    tuned = model.copy()
    opt = Adam(tuned.params, config.lr)
    batches = (_batch(user_x, user_y, mnist_x, mnist_y, config, rng) for _ in range(config.steps))
    start, losses = time.perf_counter(), []
    with threadpool_limits(1, user_api="blas"):                        # leave the other core to other users
        try:
            for step, (loss, _, _) in enumerate(steps(tuned, opt, tuned.loss_and_grads, batches), 1):
                losses.append(loss)
                if callback and callback(step, config.steps, loss):
                    break
        except DivergenceError as e:
            raise DivergenceError(f"{e} while fine-tuning; try a smaller learning rate than {config.lr:g}. "
                                  "Your model is unchanged.") from None
    _record(tuned, config, len(user_x), losses, time.perf_counter() - start, x_eval, y_eval)
    return tuned


def _record(tuned, config, n_user, losses, seconds, x_eval, y_eval):
    record = {"epoch": len(tuned.history) + 1, "kind": "finetune", "steps": len(losses), "n_drawings": n_user,
              "train_loss": float(np.mean(losses[-10:])), "seconds": seconds, "complete": True}
    if x_eval is not None:
        record["test_loss"], record["test_acc"] = evaluate(tuned, x_eval, y_eval)
    tuned.history.append(record)
    tuned.meta["finetuned"] = {"steps": len(losses), "drawings": n_user, "lr": config.lr, "seed": config.seed}
    tuned.meta.pop("calibration", None)        # fitted to the weights before: no longer true of these
