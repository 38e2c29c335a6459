"""Photographed-style digits, and a model's accuracy on them through photo_to_mnist and canvas_to_mnist.

MNIST TEST digits (never training ones) and synthetic canvas drawings (cnn.studies.synth) are rendered as photos of
ink on paper: dark on light or light on dark, at several sizes, blurred, noisy, unevenly lit, on textured
or ruled paper, JPEG-compressed, slightly turned, and all of these at once. Every image depends only on
(seed, condition name, index).

    python -m cnn photobench --model weights/default.npz --n 200
    python -m cnn photobench --outside      # optdigits (UCI) and MNIST as photos vs a baseline: outside.py
"""
import argparse
import io
import time
import zlib

import numpy as np
from PIL import Image, ImageFilter

from cnn.inputs.canvas import canvas_to_mnist, ink_box
from cnn.inputs.photo import photo_to_mnist
from cnn.studies.synth import draw_digit
from cnn.teach.evaluation import accuracy_of_inputs

# name -> settings; every condition starts from a clean photo: dark ink on light paper, the digit about
# 150 px tall in a 320 x 260 image. "phone" is a phone photo: everything at once, milder.
CONDITIONS = {
    "clean": {},
    "light on dark": {"light": True},
    "small (digit 30 px)": {"height": 30},
    "large (digit 700 px)": {"height": 700},
    "thin pen": {"thin": 0.02},
    "blur": {"blur": 0.035},
    "noise": {"noise": 0.1},
    "uneven light": {"gradient": 0.6},
    "paper texture": {"texture": 0.12},
    "JPEG quality 25": {"jpeg": 25},
    "rotated up to 12 degrees": {"rotate": 12},
    "ruled lines": {"ruled": True},
    "margins and specks": {"height": 80, "specks": True},
    "sheet on a dark table": {"height": 100, "table": True},
    "phone photo": {"blur": 0.02, "noise": 0.05, "gradient": 0.4, "texture": 0.06, "jpeg": 50, "rotate": 6},
}


def render(digit_image, rng, height=150, light=False, thin=0.0, blur=0.0, noise=0.0, gradient=0.0, texture=0.0,
           jpeg=None, rotate=0.0, ruled=False, specks=False, table=False):
    """A gray image (H, W) in [0, 1], ink bright, any size -> a photo of it: RGB uint8 (or JPEG-decoded)."""
    digit_image = np.clip(digit_image, 0, 1)[ink_box(digit_image > 0.05)]     # the digit's own box
    ink = Image.fromarray(np.uint8(digit_image * 255))
    if rotate:
        ink = ink.rotate(rng.uniform(-rotate, rotate), Image.BICUBIC, expand=True)
    w = max(1, round(ink.width * height / ink.height))
    ink = ink.resize((w, height), Image.BICUBIC)
    if thin:                                                            # a fine pen: strokes eroded
        ink = ink.filter(ImageFilter.MinFilter(2 * round(thin * height) + 1))
    if blur:
        ink = ink.filter(ImageFilter.GaussianBlur(blur * height))
    size = (max(w * 2, round(height * 1.7)), round(height * 1.75))     # (width, height): margins round it
    page = Image.new("L", size, 0)
    page.paste(ink, (int(rng.integers(0, size[0] - w + 1)), int(rng.integers(0, size[1] - height + 1))))
    a = np.asarray(page, np.float32) / 255                              # (h, w) ink coverage
    if ruled:
        a = _ruled(a, rng)
    if specks:
        a = _specks(a, rng)
    paper, pen = (0.12, 0.9) if light else (rng.uniform(0.8, 0.95), rng.uniform(0.05, 0.25))
    img = paper + (pen - paper) * a
    if gradient:                                                        # a shadow across the page
        ys, xs = np.mgrid[:img.shape[0], :img.shape[1]] / max(img.shape)
        angle = rng.uniform(0, 2 * np.pi)
        ramp = (np.cos(angle) * xs + np.sin(angle) * ys)
        img = img * (1 - gradient * (ramp - ramp.min()) / max(np.ptp(ramp), 1e-6))
    if table:                                                           # the sheet's edges in the picture
        img = np.pad(img, [(round(0.15 * n), round(0.1 * n)) for n in img.shape], constant_values=0.2)
    if texture:                                                         # blotchy paper: smooth random field
        field = Image.fromarray(np.uint8(rng.uniform(0, 255, (12, 12)))).resize(img.shape[::-1], Image.BICUBIC)
        img = img + texture * (np.asarray(field, np.float32) / 255 - 0.5)
    if noise:
        img = img + rng.normal(0, noise, img.shape)
    rgb = np.uint8(np.clip(img, 0, 1)[..., None] * [255, 250, 240] + 0.5)  # warm paper, not pure gray
    if jpeg:
        buf = io.BytesIO()
        Image.fromarray(rgb).save(buf, "JPEG", quality=jpeg)
        rgb = np.asarray(Image.open(buf).convert("RGB"))
    return rgb


def _ruled(a, rng):
    """Faint horizontal lines across the page, every 0.4 of the digit-ish height."""
    spacing = max(6, int(a.shape[0] / rng.uniform(4, 6)))
    start = int(rng.integers(0, spacing))
    thick = max(1, a.shape[0] // 150)
    out = a.copy()
    for y in range(start, a.shape[0], spacing):
        out[y:y + thick] = np.maximum(out[y:y + thick], 0.45)
    return out


def _specks(a, rng):
    """A few dots of dust or ink far from the digit, each much smaller than it."""
    out = a.copy()
    for _ in range(4):
        y, x = rng.integers(0, a.shape[0] - 2), rng.integers(0, a.shape[1] - 2)
        out[y:y + 2, x:x + 2] = 0.8
    return out


def sources(n, seed=0):
    """-> {"MNIST test": (images (n, 28, 28) in [0, 1], labels), "canvas drawings": (...)}: n MNIST test
    digits drawn at random (the full test set if MNIST_DIR or the cache has it, else the committed subset's
    test images) and n synthetic canvas drawings (white on black, 280 px)."""
    from cnn.files.mnist import MnistError, load_mnist, load_subset
    try:
        x_test, y_test = load_mnist()[2:]
    except MnistError:
        x_test, y_test = load_subset()[2:]
    pick = np.random.default_rng(seed).choice(len(y_test), min(n, len(y_test)), replace=False)
    drawings = [draw_digit(i % 10, np.random.default_rng([seed, 7, i])) for i in range(n)]
    return {"MNIST test": (np.asarray(x_test[pick], np.float32).reshape(-1, 28, 28) / _unit(x_test), y_test[pick]),
            "canvas drawings": (np.array([d[..., 0] / 255 for d in drawings], np.float32), np.arange(n) % 10)}


def _unit(x):
    return 255.0 if x.dtype == np.uint8 else 1.0


def measure(model, n=200, seed=0, conditions=CONDITIONS, callback=None):
    """-> {(source, condition): (photo accuracy, canvas accuracy, refused by photo_to_mnist)}."""
    results = {}
    for source, (images, labels) in sources(n, seed).items():
        for name, settings in conditions.items():
            c = zlib.crc32(name.encode())                              # the same photos in any subset of conditions
            photos = [render(img, np.random.default_rng([seed, c, i]), **settings) for i, img in enumerate(images)]
            xs = [photo_to_mnist(p) for p in photos]
            refused = sum(x is None for x in xs)
            accs = [accuracy_of_inputs(model, xs, labels),
                    accuracy_of_inputs(model, [canvas_to_mnist(p) for p in photos], labels)]
            results[source, name] = (*accs, refused / len(labels))
            if callback:
                callback(source, name, results[source, name])
    return results


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m cnn photobench", description="Accuracy on photographed-style "
                                 "digits: photo_to_mnist vs canvas_to_mnist, per condition.")
    ap.add_argument("--model", default="weights/default.npz", help="weights file (.npz)")
    ap.add_argument("--n", type=int, default=None, help="images per source and condition (default 200; with "
                    "--outside, all 1,797 optdigits and 500 MNIST test digits)")
    ap.add_argument("--outside", action="store_true", help="photos of optdigits (UCI, needs scikit-learn) and "
                    "MNIST: photo_to_mnist against a ten-line baseline, per condition")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    if args.n is not None and args.n < 1:
        ap.error("--n must be >= 1")
    from cnn.files import tool_inputs
    model = tool_inputs(ap, args.model)
    start = time.perf_counter()
    if args.outside:
        from cnn.studies.outside import report
        print(f"model {args.model}, seed {args.seed}; thresholds tuned on MNIST photos, optdigits only measured")
        report(model, args.n, args.seed)
        print(f"{time.perf_counter() - start:.0f} s")
        return
    args.n = args.n or 200
    print(f"model {args.model}, {args.n} images per source and condition, seed {args.seed}")
    print(f"{'source':<16} {'condition':<26} {'photo_to_mnist':>14} {'canvas_to_mnist':>15} {'refused':>8}")

    def show(source, name, r):
        print(f"{source:<16} {name:<26} {100 * r[0]:13.1f}% {100 * r[1]:14.1f}% {100 * r[2]:7.1f}%", flush=True)

    results = measure(model, args.n, args.seed, callback=show)
    for source in dict.fromkeys(s for s, _ in results):
        rows = [r for (s, _), r in results.items() if s == source]
        show(source, "mean of the conditions", np.mean(rows, axis=0))
    print(f"{time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
