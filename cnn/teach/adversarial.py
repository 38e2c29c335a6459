"""Fool the network: the smallest change to an image, found by the engine's own gradients, that makes the
model answer a digit of your choice (an iterative targeted gradient method). Writes nothing to the model."""
import numpy as np

from cnn.engine.layers import softmax

MAX_STEPS = 200       # a hard bound on the work: one forward and backward pass of one image per step


def target_gradient(model, image, target):
    """(probabilities (10,), d log p_target / d image (28, 28)) for one image in [0, 1], by model.backward."""
    x = model.prepare(image[None])                                     # (1, 28, 28, 1)
    logits, caches = model.forward(x, keep=True)
    probs = softmax(logits.astype(np.float64))[0]                      # (10,)
    dlogits = -probs[None].astype(model.dtype)                         # d log p_t / d z = onehot(t) - p
    dlogits[0, target] += 1
    dx, _ = model.backward(dlogits, caches, need_dx=True)
    return probs, dx[0, :, :, 0].astype(np.float64)


def fool(model, image, target, step=0.1, max_steps=MAX_STEPS):
    """Climb log p(target) from `image` (28, 28) in [0, 1] until the model answers `target`: each step moves
    the image by `step` (L2) along the normalised gradient, then clips it to [0, 1].

    Returns a dict: image (the changed image), delta (its difference from the original), steps, success,
    l2 and linf (the size of delta), before and after (the ten probabilities)."""
    if not 0 <= int(target) < 10:
        raise ValueError(f"target must be a digit 0-9, not {target}")
    original = np.clip(np.asarray(image, dtype=np.float64), 0, 1)
    x = original.copy()
    before = probs = None
    for n in range(max_steps + 1):
        probs, grad = target_gradient(model, x.astype(np.float32), target)
        before = probs if before is None else before
        if probs.argmax() == target or n == max_steps:
            break
        norm = np.linalg.norm(grad)
        if norm == 0:                                                  # a flat spot: no direction to move
            break
        x = np.clip(x + step * grad / norm, 0, 1)
    delta = x - original
    return {"image": x.astype(np.float32), "delta": delta.astype(np.float32), "steps": n,
            "success": bool(probs.argmax() == target), "l2": float(np.linalg.norm(delta)),
            "linf": float(np.abs(delta).max()), "before": before, "after": probs}


def main(argv=None):
    import argparse
    p = argparse.ArgumentParser(prog="python -m cnn adversarial",
                                description="How large a change fools a model: each of the first N MNIST test "
                                            "images pushed to the next digit (label + 1).")
    p.add_argument("--model", default="weights/default.npz", help="weights file (.npz)")
    p.add_argument("--n", type=int, default=100, help="test images")
    args = p.parse_args(argv)
    from cnn.files import tool_inputs
    model, x_test, y_test = tool_inputs(p, args.model, test_set=True)
    runs = [fool(model, x_test[i] / np.float32(255), (int(y_test[i]) + 1) % 10) for i in range(args.n)]
    done = [r for r in runs if r["success"]]
    print(f"{args.model}: {len(done)} of {len(runs)} test images fooled into the next digit")
    for key in ("steps", "l2", "linf"):
        values = np.array([r[key] for r in done], float)
        print(f"  {key}: median {np.median(values):.2f}, 10th-90th percentile {np.percentile(values, 10):.2f}"
              f"-{np.percentile(values, 90):.2f}")


if __name__ == "__main__":
    main()
