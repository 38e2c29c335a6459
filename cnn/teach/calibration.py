"""Honest probabilities: temperature scaling (Guo et al. 2017), the expected calibration error, and the
"not sure" test for drawings unlike every digit.

A network's softmax is often over- or under-confident. Dividing the logits by one temperature T, fitted to
minimise the cross-entropy on held-out images, fixes most of it without changing any prediction (the order
of the logits stays the same). The fitted T is stored with the model in model.meta["calibration"].

Held-out images: the shipped models were trained on all 60,000 training images, so none of those is held
out. The MNIST test set is split in two instead: T is fitted on its first 5,000 images and the calibration
error is reported on the other 5,000 only (accuracy, which T cannot change, is still reported on all 10,000).

    python -m cnn calibration --model weights/default.npz --write
"""
import argparse

import numpy as np

from cnn.engine.layers import log_softmax, softmax

T_RANGE = (0.05, 20.0)      # temperatures searched (the weights files' schema allows 0.01 to 100)
FIT_IMAGES = 5000           # the first test images fit T; the calibration error is reported on the rest
N_BINS = 15                 # confidence bins of the reliability diagram and the ECE
NOT_SURE_BELOW = 0.95       # calibrated top probability under which a drawing is "not sure" (docs/teaching.md)


def nll(logits, labels, temperature=1.0):
    """Mean cross-entropy of softmax(logits / temperature) against integer labels."""
    log_p = log_softmax(np.asarray(logits, np.float64) / temperature)
    return float(-log_p[np.arange(len(log_p)), labels].mean())


def fit_temperature(logits, labels):
    """The temperature in T_RANGE minimising nll (golden-section search on log T; the nll is smooth and has
    one minimum along it in practice)."""
    lo, hi = np.log(T_RANGE[0]), np.log(T_RANGE[1])
    ratio = (np.sqrt(5) - 1) / 2
    a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    fa, fb = nll(logits, labels, np.exp(a)), nll(logits, labels, np.exp(b))
    for _ in range(60):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - ratio * (hi - lo)
            fa = nll(logits, labels, np.exp(a))
        else:
            lo, a, fa = a, b, fb
            b = lo + ratio * (hi - lo)
            fb = nll(logits, labels, np.exp(b))
    return float(np.exp((lo + hi) / 2))


def reliability(probs, labels, n_bins=N_BINS):
    """(bins, ece): per confidence bin (top probability in equal-width bins) its mean confidence, accuracy
    and count (empty bins left out), and the expected calibration error: the count-weighted mean gap."""
    probs = np.asarray(probs, np.float64)
    confidence, right = probs.max(axis=1), probs.argmax(axis=1) == np.asarray(labels)
    which = np.minimum((confidence * n_bins).astype(int), n_bins - 1)
    bins, ece = [], 0.0
    for k in range(n_bins):
        inside = which == k
        if inside.any():
            conf, acc = float(confidence[inside].mean()), float(right[inside].mean())
            bins.append({"confidence": conf, "accuracy": acc, "count": int(inside.sum())})
            ece += inside.sum() / len(probs) * abs(acc - conf)
    return bins, float(ece)


def temperature(model):
    """The model's fitted temperature, or 1 (the raw softmax) when it has none."""
    return float((model.meta.get("calibration") or {}).get("temperature", 1.0))


def calibrated(probs, temp):
    """Probabilities (..., 10) as they would be with logits divided by temp: softmax(log p / temp), the same
    thing (log p is the logits minus one constant per image). Ten numbers: costs nothing per stroke."""
    p = np.asarray(probs, np.float64)
    if temp == 1.0:
        return p
    log_p = np.log(np.maximum(p, np.finfo(np.float64).tiny))
    return softmax(log_p.reshape(-1, p.shape[-1]) / temp).reshape(p.shape)


def not_sure(calibrated_probs):
    """True when no digit is likely enough: the calibrated top probability is under NOT_SURE_BELOW."""
    return bool(np.max(calibrated_probs) < NOT_SURE_BELOW)


def split(x_test, y_test):
    """((x, y) to fit the temperature on, (x, y) to report the calibration error on): the two test halves."""
    n = min(FIT_IMAGES, len(y_test) // 2)
    return (x_test[:n], y_test[:n]), (x_test[n:], y_test[n:])


def calibrate(model, x_test, y_test):
    """The model's calibration record: the temperature fitted on the first part of the test images, and the
    expected calibration error on the rest, before and after. Writes nothing to the model."""
    (x_fit, y_fit), (x_report, y_report) = split(x_test, y_test)
    temp = fit_temperature(model.logits(x_fit).astype(np.float64), y_fit)
    report = model.logits(x_report).astype(np.float64)
    ece = [reliability(softmax(report / t), y_report)[1] for t in (1.0, temp)]
    return {"temperature": temp, "fitted_on": int(len(y_fit)), "ece_before": ece[0], "ece_after": ece[1]}


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m cnn calibration",
                                description=f"Fit a model's temperature on the first {FIT_IMAGES:,} MNIST test "
                                            "images and measure its calibration error on the other test images.")
    p.add_argument("--model", default="weights/default.npz", help="weights file (.npz)")
    p.add_argument("--write", action="store_true", help="store the temperature in the weights file")
    args = p.parse_args(argv)
    from cnn.files import tool_inputs
    from cnn.files.weights import save_model
    model, x_test, y_test = tool_inputs(p, args.model, test_set=True)
    record = calibrate(model, x_test, y_test)
    print(f"{args.model}: temperature {record['temperature']:.3f} (fitted on {record['fitted_on']:,} test images); "
          f"ECE on the other {len(y_test) - record['fitted_on']:,}: {record['ece_before']:.4f} before, "
          f"{record['ece_after']:.4f} after")
    if args.write:
        model.meta["calibration"] = record
        save_model(model, args.model)
        print(f"saved {args.model}")


if __name__ == "__main__":
    main()
