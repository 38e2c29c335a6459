"""Benchmark the engine against PyTorch in one run (not a test; the project never imports torch):

    python -m venv /tmp/torchenv && /tmp/torchenv/bin/pip install torch==2.13.0 numpy
    MNIST_DIR=../shared/mnist python benchmarks/bench_torch.py --torch-python /tmp/torchenv/bin/python

Times one full 60,000-image epoch of SGD with momentum at batch 64 for each architecture, alternating
this engine (cnn.studies.bench's epoch) and the same network in PyTorch (2 threads, the usual training loop),
--repeats times each, and prints the medians and their ratio. Shared machines change speed from hour to
hour, so the ratio measured in one run says more than an absolute time: the engine issue's goals
(c16pc16 <= 2.5 s, c8p <= 1.0 s) were set when PyTorch took 3.2 s and 1.8 s here, ratios 0.78 and 0.56.
"""
import argparse
import gzip
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

GOAL_RATIO = {"c16pc16": 2.5 / 3.2, "c8p": 1.0 / 1.8}


def _read(path, header):
    """The bytes of a gzipped MNIST file after its header."""
    with gzip.open(path) as f:
        return np.frombuffer(f.read(), np.uint8)[header:]


def torch_epoch(arch, seed):
    """Seconds for one epoch of `arch` in PyTorch (runs in the PyTorch environment)."""
    import torch
    from torch import nn
    torch.set_num_threads(2)
    torch.manual_seed(seed)
    folder = Path(os.environ.get("MNIST_DIR", "../shared/mnist"))
    x = _read(folder / "train-images-idx3-ubyte.gz", 16).reshape(-1, 1, 28, 28)
    y = _read(folder / "train-labels-idx1-ubyte.gz", 8).astype(np.int64)
    layers = {"c16pc16": [nn.Conv2d(1, 16, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(16, 16, 3), nn.ReLU(),
                          nn.Flatten(), nn.Linear(11 * 11 * 16, 10)],
              "c8p": [nn.Conv2d(1, 8, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(13 * 13 * 8, 10)]}
    model, loss_fn = nn.Sequential(*layers[arch]), nn.CrossEntropyLoss()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    order = np.random.default_rng(seed).permutation(len(x))
    start = time.perf_counter()
    for b in range(0, len(x), 64):
        idx = order[b:b + 64]
        images, labels = torch.from_numpy(x[idx].astype(np.float32) / 255), torch.from_numpy(y[idx])
        opt.zero_grad()
        loss_fn(model(images), labels).backward()
        opt.step()
    return time.perf_counter() - start


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--torch-python", help="a Python that has torch (a separate virtual environment)")
    p.add_argument("--arch", nargs="+", default=list(GOAL_RATIO), choices=list(GOAL_RATIO))
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)    # time PyTorch, print seconds
    p.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        print(torch_epoch(args.arch[0], args.seed))
        return
    if not args.torch_python:
        p.exit(2, "error: --torch-python is required (see the set-up line at the top of this file)\n")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from cnn import load_mnist
    from cnn.studies.bench import epoch_seconds
    x, y, _, _ = load_mnist()
    result = {}
    for arch in args.arch:
        ours, theirs = [], []
        for seed in range(args.repeats):                     # alternate, so both see the same machine
            ours.append(epoch_seconds(arch, x, y, 60000, 1))
            out = subprocess.run([args.torch_python, __file__, "--worker", "--arch", arch, "--seed", str(seed)],
                                 capture_output=True, text=True, check=True)
            theirs.append(float(out.stdout.split()[-1]))
        ratio = float(np.median(ours) / np.median(theirs))
        result[arch] = {"epoch_s": round(float(np.median(ours)), 3),
                        "pytorch_epoch_s": round(float(np.median(theirs)), 3),
                        "ratio": round(ratio, 3), "goal_ratio": round(GOAL_RATIO[arch], 3),
                        "runs_s": [round(t, 2) for t in ours], "pytorch_runs_s": [round(t, 2) for t in theirs]}
        print(json.dumps({arch: result[arch]}), flush=True)


if __name__ == "__main__":
    main()
