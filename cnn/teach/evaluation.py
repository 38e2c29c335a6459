"""Evaluating a model on a labelled set: accuracy, loss, per-class accuracy, the confusion matrix,
and an occlusion map (which parts of an image the prediction depends on). Writes nothing to the model."""
import numpy as np

from cnn.engine.layers import log_softmax, softmax
from cnn.engine.model import N_CLASSES


def confusion(model, x, y):
    """How a model does on images x (N, 28, 28) with labels y (N,), in every figure an evaluation needs.

    Returns a dict: accuracy, loss (mean cross-entropy), n, per_class (10,) accuracy of each true digit
    (NaN for a digit absent from y), counts (10,) images per true digit, matrix (10, 10) int counts with
    rows = true digit and columns = predicted digit, predictions (N,) and probabilities (N, 10).
    """
    y = np.asarray(y).astype(np.intp)                                  # (N,)
    if len(x) != len(y) or len(y) == 0:
        raise ValueError(f"need N>0 images with N labels, got {len(x)} images and {len(y)} labels")
    if y.min() < 0 or y.max() >= N_CLASSES:
        raise ValueError("labels must be digits 0-9")
    logits = model.logits(x).astype(np.float64)                        # (N, 10)
    probs = softmax(logits)                                            # (N, 10)
    log_probs = log_softmax(logits)                                    # (N, 10)
    predictions = probs.argmax(1)                                      # (N,)
    matrix = np.zeros((N_CLASSES, N_CLASSES), np.int64)
    np.add.at(matrix, (y, predictions), 1)
    counts = matrix.sum(1)                                             # (10,) images per true digit
    with np.errstate(invalid="ignore", divide="ignore"):
        per_class = np.diag(matrix) / counts                           # NaN where a digit is absent
    return {"accuracy": float(np.trace(matrix) / len(y)), "loss": float(-log_probs[np.arange(len(y)), y].mean()),
            "n": len(y), "per_class": per_class, "counts": counts, "matrix": matrix,
            "predictions": predictions, "probabilities": probs.astype(np.float32)}


def cell_indices(result, y, true_digit, predicted_digit):
    """Indices of the images of true_digit predicted as predicted_digit (one confusion-matrix cell),
    the most confident predictions first."""
    idx = np.flatnonzero((np.asarray(y) == true_digit) & (result["predictions"] == predicted_digit))
    confidence = result["probabilities"][idx, predicted_digit]
    return idx[np.argsort(-confidence, kind="stable")]


def occlusion(model, image, target=None, patch=4, stride=None, fill=0.0):
    """How much the score (logit) of `target` (default: the predicted digit) drops when a patch x patch
    square of the (28, 28) image is covered with `fill`, for every position of the square. The score,
    not the probability: a confident guess keeps a probability of 1.00 whatever is covered.

    Returns a (28, 28) float32 map: each pixel holds the mean drop over the squares that cover it
    (positive: the pixel supported the target). All occluded copies go through one forward pass.
    """
    image = np.asarray(image)
    image = image / np.float32(255) if image.dtype == np.uint8 else image.astype(np.float32)   # (28, 28)
    h, w = image.shape
    stride = stride or max(1, patch // 2)
    base = model.logits(image[None])[0]                                 # (10,)
    target = int(base.argmax()) if target is None else int(target)
    corners = [(t, c) for t in range(0, h - patch + 1, stride) for c in range(0, w - patch + 1, stride)]
    copies = np.repeat(image[None], len(corners), axis=0)               # (K, 28, 28)
    for k, (t, c) in enumerate(corners):
        copies[k, t:t + patch, c:c + patch] = fill
    drops = base[target] - model.logits(copies)[:, target]              # (K,)
    total, cover = np.zeros((h, w)), np.zeros((h, w))
    for drop, (t, c) in zip(drops, corners, strict=True):
        total[t:t + patch, c:c + patch] += drop
        cover[t:t + patch, c:c + patch] += 1
    return (total / np.maximum(cover, 1)).astype(np.float32)


def accuracy_of_inputs(model, xs, labels):
    """Accuracy on inputs some of which a conversion refused (None): a refused one counts as wrong."""
    batch = np.stack([np.zeros((28, 28), np.float32) if x is None else x for x in xs])
    ok = (model.predict(batch) == labels) & np.array([x is not None for x in xs])
    return float(ok.mean())
