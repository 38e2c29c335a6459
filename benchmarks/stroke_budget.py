"""What one stroke on the Draw page costs the server, for the costliest networks the compute budget allows.

    python benchmarks/stroke_budget.py [--samples 40000] [--top 10]

A stroke runs a prediction, a saliency map and an occlusion map (169 occluded copies) on one drawing. This
samples the grammar at random, keeps the networks with the highest cost under the budget (cnn/engine/arch.py), and
prints each one's CPU time per stroke with one BLAS thread (the server's setting), median of 5, next to the
shipped default's.
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import cnn  # noqa: E402
from cnn.engine.arch import MAX_COST, MOVE_COST, ArchError, cost, parse_arch  # noqa: E402
from cnn.teach.evaluation import occlusion  # noqa: E402

WIDTHS = [1, 2, 4, 8, 16, 24, 32, 48, 64, 96, 128, 192, 256]


def sample(rng, n):
    """{arch: cost} of up to n random strings the grammar accepts."""
    found = {}
    for _ in range(n):
        tokens, dense = [], False
        for _ in range(rng.integers(1, 8)):
            kind = "d" if dense else rng.choice(["c", "p", "d"], p=[0.5, 0.2, 0.3])
            dense = kind == "d"
            tokens.append(kind + (str(rng.choice(WIDTHS)) if kind == "c" else
                                  str(rng.choice([16, 64, 256, 1024])) if kind == "d" else ""))
        arch = "".join(tokens)
        try:
            macs, moved = cost(parse_arch(arch))
        except ArchError:
            continue
        found[arch] = macs + MOVE_COST * moved
    return found


def stroke_seconds(arch, repeats=5):
    model, x = cnn.build_model(arch), np.random.default_rng(0).uniform(0, 1, (28, 28)).astype(np.float32)

    def stroke():
        digit = int(model.predict_proba(x[None])[0].argmax())
        cnn.saliency(model, x, digit)
        occlusion(model, x, digit, patch=4)

    stroke()
    times = []
    for _ in range(repeats):
        start = time.process_time()
        stroke()
        times.append(time.process_time() - start)
    return float(np.median(times))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--samples", type=int, default=40000)
    p.add_argument("--top", type=int, default=10)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    threadpool_limits(1, user_api="blas")
    cnn.keep_freed_memory()
    found = sample(np.random.default_rng(args.seed), args.samples)
    costliest = sorted(found, key=found.get, reverse=True)[:args.top]
    print(f"budget {MAX_COST:,} per image; {len(found):,} valid networks sampled")
    print(f"{'network':28} {'cost':>11} {'stroke CPU':>11}")
    for arch in ["c32pc64pd128", "c256", *costliest]:
        macs, moved = cost(parse_arch(arch))
        print(f"{arch:28} {macs + MOVE_COST * moved:>11,} {1000 * stroke_seconds(arch):>8.1f} ms")


if __name__ == "__main__":
    main()
