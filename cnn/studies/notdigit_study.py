"""Train the not-a-digit detector (cnn/teach/notdigit.py) and measure it with whole kinds held out.

The kinds of cnn/studies/doodles.py are dealt into FOLDS folds. For each fold, a detector is trained on MNIST
training images and canvas digit drawings (label 0) against every other fold's kinds and random tangles
(label 1), 4 epochs; its threshold is set on digits only (MNIST training images it did not train on, and other canvas
drawings): the higher of the two 98.5th percentiles. It is then measured on its fold's kinds, which it never
saw, as canvas drawings and as photos, and on digits: the MNIST test set, canvas drawings of another seed,
UCI optdigits (43 writers, outside MNIST) and MNIST test digits as photos. The app ships fold 0's detector:
its held-out kinds (HELD_OUT) stay unseen, so tests can measure the shipped file on them.

    MNIST_DIR=... python -m cnn notdigit --out weights/notdigit.npz
"""
import argparse
import time

import numpy as np

from cnn.engine.model import build_model
from cnn.engine.training import TrainConfig, train
from cnn.inputs.canvas import canvas_to_mnist
from cnn.studies.doodles import KINDS, RANDOM, canvas_inputs, photo_inputs
from cnn.studies.synth import iter_drawings
from cnn.teach import notdigit

FOLDS = 4
ARCH = "c8pc16pd32"
FOLDED = [k for k in KINDS if k not in RANDOM]        # random strokes are always trained on, never measured
DIGITS_FLAGGED = 0.015   # the threshold lets this share of validation digits through (the goal allows 2%)
HELD_OUT = [k for i, k in enumerate(FOLDED) if i % FOLDS == 0]   # kinds the shipped detector never saw


def fold_kinds(fold):
    return [k for i, k in enumerate(FOLDED) if i % FOLDS == fold]


def canvas_digits(n_per_digit, seed):
    return np.stack([canvas_to_mnist(rgba) for rgba, _ in iter_drawings(n_per_digit, seed)])


def optdigits(n=None):
    """UCI optdigits (sklearn's load_digits: 1,797 digits, 8x8, 0-16) as MNIST-like 28x28 inputs: upscaled to
    80x80 and put through the canvas's own preprocessing (crop, stroke width, 20 px, centred by mass)."""
    from PIL import Image
    from sklearn.datasets import load_digits
    digits = load_digits()
    big = [np.asarray(Image.fromarray(np.float32(d / 16)).resize((80, 80), Image.BILINEAR))
           for d in digits.images[:n]]
    return np.stack([canvas_to_mnist(np.clip(b, 0, 1)) for b in big]), digits.target[:n]


def mnist_photos(x_test, n, seed=0):
    """n MNIST test digits as photos (cnn.studies.photobench.render, mild conditions) through photo_to_mnist."""
    from cnn.inputs.photo import photo_to_mnist
    from cnn.studies.photobench import render
    out = []
    for i in range(n):
        rng = np.random.default_rng([seed, 31, i])
        options = [{}, {"light": True}, {"blur": 0.02}, {"noise": 0.05}, {"gradient": 0.4}, {"thin": 0.02}]
        x = photo_to_mnist(render(x_test[i] / 255, rng, **options[i % len(options)]))
        if x is not None:
            out.append(x)
    return np.stack(out)


def train_detector(digits, nondigits, val_mnist, val_canvas, epochs=3, seed=0):
    """A detector trained on digits (label 0) against nondigits (label 1), 4 epochs, threshold set on digits only."""
    x = to_uint8(np.concatenate([digits, nondigits]))                 # as MNIST: the augmentation expects 0-255
    y = np.concatenate([np.zeros(len(digits), int), np.ones(len(nondigits), int)])
    order = np.random.default_rng(seed).permutation(len(y))
    net = build_model(ARCH, seed=seed)
    train(net, x[order], y[order], to_uint8(val_canvas), np.zeros(len(val_canvas), int),
          TrainConfig(epochs=epochs, lr=0.002, lr_decay=0.6, n_train=len(y), augment=True, seed=seed))
    s_mnist, s_canvas = notdigit.scores(val_mnist, net), notdigit.scores(val_canvas, net)
    threshold = float(max(np.quantile(s_mnist, 1 - DIGITS_FLAGGED), np.quantile(s_canvas, 1 - DIGITS_FLAGGED)))
    net.meta["outlier"] = {"threshold": threshold, "digits_validated": len(s_mnist) + len(s_canvas)}
    return net, threshold


def to_uint8(x):
    return x if x.dtype == np.uint8 else np.uint8(np.clip(x, 0, 1) * 255 + 0.5)


def flagged(net, threshold, x):
    return (notdigit.scores(x, net) > threshold) | notdigit.blot(x) | notdigit.two_digits(x)


def measure(detector_path, model_path, n):
    """The shipped detector on the HELD_OUT kinds (drawings and photos) and on digits, and in the same run the
    plain baseline: the digit model's calibrated top probability under 95% ("not sure")."""
    from cnn.files import load_mnist, load_model
    from cnn.teach import calibration
    net, threshold = notdigit.detector(detector_path)
    model = load_model(model_path)
    x_test, y_test = load_mnist()[2:]

    def baseline(x):
        probs = calibration.calibrated(model.predict_proba(x), calibration.temperature(model))
        return probs.max(axis=1) < calibration.NOT_SURE_BELOW
    print(f"{detector_path} (threshold {threshold:.2f}) against {model_path}'s 95% 'not sure' rule; "
          f"{model_path} reads {np.mean(model.predict(x_test) == y_test):.2%} of the MNIST test set")
    print(f"  {'':26} {'detector':>9} {'not sure':>9}")
    sets = [(f"{k} ({n} drawings)", canvas_inputs(k, n, seed=2)) for k in HELD_OUT]
    sets += [(f"{k} ({len(x)} photos)", x) for k in HELD_OUT for x in [photo_inputs(k, n // 2, seed=2)]]
    sets += [("MNIST test (10,000)", x_test), ("canvas digits (1,000)", canvas_digits(100, 0)),
             ("optdigits (1,797)", optdigits()[0]), ("MNIST test as photos", mnist_photos(x_test, 600))]
    for name, x in sets:
        print(f"  {name:26} {flagged(net, threshold, x).mean():9.1%} {baseline(x).mean():9.1%}")


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m cnn notdigit", description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=400, help="training drawings per non-digit kind")
    p.add_argument("--test-n", type=int, default=100, help="measured drawings (and photos) per held-out kind")
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--folds", type=int, default=FOLDS, help="folds to run (1: only the shipped one, fold 0)")
    p.add_argument("--out", help="save fold 0's detector here (the app's is weights/notdigit.npz)")
    p.add_argument("--measure", metavar="DETECTOR", help="train nothing: measure this detector file on the kinds "
                   "it never saw (HELD_OUT) and on digits, beside the 95%% 'not sure' rule of --model")
    p.add_argument("--model", default="weights/default.npz", help="the digit model of --measure's baseline")
    args = p.parse_args(argv)
    if args.measure:
        return measure(args.measure, args.model, args.test_n)
    from cnn.files.mnist import load_mnist
    t0 = time.time()
    x_train, _, x_test, _ = load_mnist()
    digits = np.concatenate([x_train[:20000] / np.float32(255), canvas_digits(200, 21)])
    val_mnist, val_canvas = x_train[50000:] / np.float32(255), canvas_digits(100, 22)
    train_sets = {k: canvas_inputs(k, args.n if k not in RANDOM else 10 * args.n, seed=1) for k in KINDS}
    yardsticks = {"MNIST test": x_test, "canvas digits (seed 0)": canvas_digits(100, 0),
                  "optdigits (UCI, 1,797)": optdigits()[0], "MNIST test as photos": mnist_photos(x_test, 600)}
    print(f"data ready in {time.time() - t0:.0f} s: {len(digits):,} digits, "
          f"{sum(map(len, train_sets.values())):,} non-digits of {len(KINDS)} kinds", flush=True)
    rows = {}
    for fold in range(args.folds):
        held = fold_kinds(fold)
        others = np.concatenate([v for k, v in train_sets.items() if k not in held])
        net, threshold = train_detector(digits, others, val_mnist, val_canvas, args.epochs, seed=fold)
        if fold == 0 and args.out:
            from cnn.files.weights import save_model
            save_model(net, args.out)
        for k in held:
            rows[k] = (fold, flagged(net, threshold, canvas_inputs(k, args.test_n, seed=2)).mean(),
                       flagged(net, threshold, photo_inputs(k, args.test_n // 2, seed=2)).mean())
        for k in held:
            print(f"  held out {k:14} drawings {rows[k][1]:6.1%}  photos {rows[k][2]:6.1%}", flush=True)
        digit_rates = {name: flagged(net, threshold, x).mean() for name, x in yardsticks.items()}
        print(f"fold {fold} (threshold {threshold:.2f}, held out: {', '.join(held)}): digits flagged "
              + ", ".join(f"{name} {r:.1%}" for name, r in digit_rates.items())
              + f"  [{time.time() - t0:.0f} s]", flush=True)
    print(f"\nnon-digits flagged, each kind by the fold that never saw it ({args.test_n} drawings, "
          f"{args.test_n // 2} photos):")
    for k, (fold, canvas, photo) in sorted(rows.items(), key=lambda kv: kv[1][1]):
        print(f"  {k:14} fold {fold}  drawings {canvas:6.1%}  photos {photo:6.1%}")
    canvas = np.mean([r[1] for r in rows.values()])
    photo = np.mean([r[2] for r in rows.values()])
    print(f"  mean over {len(rows)} held-out kinds: drawings {canvas:.1%}, photos {photo:.1%}; kinds under 90%: "
          f"{sum(r[1] < 0.9 for r in rows.values())} of {len(rows)}")
    if args.out:
        print(f"saved fold 0's detector to {args.out}")


if __name__ == "__main__":
    main()
