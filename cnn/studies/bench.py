"""Speed and memory figures on real MNIST.

    python -m cnn bench --arch c16pc16 --json
    python -m cnn bench --arch c8p --origin      # also time the origin's loop style and the speed-up

epoch_s is a whole 60,000-image epoch of SGD with momentum at batch 64 (fewer with --train-images,
then extrapolated to 60,000 and said so), as cnn.train records it: the training worker processes
start before it, once per run. Every time is the median of --repeats runs.
"""
import argparse
import json
import resource
import time
from pathlib import Path

import numpy as np

from cnn.engine.model import build_model
from cnn.engine.training import TrainConfig, train
from cnn.files.mnist import MnistError, load_mnist

from .origin import train_c8p


def median_seconds(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def epoch_seconds(arch, x, y, n_images, repeats, workers_peak=None):
    """The median epoch time, extrapolated to 60,000 images; workers_peak (a list) gets the training worker
    processes' summed peak memory, sampled while they run."""
    config = TrainConfig(epochs=1, optimizer="sgd", lr=0.01, momentum=0.9, batch_size=64, n_train=n_images)
    peak = workers_peak if workers_peak is not None else []

    def sample(event):
        if event["kind"] == "batch" and event["batch"] % 100 == 1:
            peak.append(children_peak_rss_mb())

    runs = []
    for seed in range(repeats):
        model = build_model(arch, seed=seed)
        runs.append(train(model, x, y, x[:64], y[:64], config, callback=sample)[-1]["seconds"])  # excludes testing
    return float(np.median(runs)) * 60000 / n_images


def children_peak_rss_mb():
    """The summed peak resident memory of this process's living children, where Linux's /proc tells it, else 0.
    (RUSAGE_CHILDREN would count, in each worker, the pages it shared with this process between fork and exec.)"""
    total = 0.0
    try:
        pids = [pid for task in Path("/proc/self/task").iterdir() for pid in (task / "children").read_text().split()]
        for pid in pids:
            with open(f"/proc/{pid}/status") as f:
                total += next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration, ValueError):
        pass
    return total


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m cnn bench", description=__doc__.split("\n")[0])
    p.add_argument("--arch", default="c16pc16")
    p.add_argument("--train-images", type=int, default=60000, help="images to time (extrapolated to 60,000)")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--origin", action="store_true", help="time the origin's loop style for c8p too")
    p.add_argument("--origin-images", type=int, default=300)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(argv)

    try:
        x_train, y_train, x_test, _ = load_mnist()
    except MnistError as e:
        p.exit(2, f"error: {e}\n")
    model = build_model(args.arch)
    r = {"arch": args.arch, "n_params": model.n_params}
    workers_peak = []
    r["epoch_s"] = epoch_seconds(args.arch, x_train, y_train, args.train_images, args.repeats, workers_peak)
    r["epoch_extrapolated_from_images"] = args.train_images
    r["train_images_per_s"] = 60000 / r["epoch_s"]
    batch = x_test[:1000]
    model.predict_proba(batch)
    r["infer_images_per_s"] = 1000 / median_seconds(lambda: model.predict_proba(batch), 5 * args.repeats)
    one = x_test[:1].astype(np.float32) / 255
    r["predict_one_ms"] = 1000 * median_seconds(lambda: model.predict_proba(one), 200)
    r["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 + max(workers_peak, default=0.0)
    if args.origin:
        n = args.origin_images
        origin = median_seconds(lambda: train_c8p(x_train[:n], y_train[:n]), 1) * 60000 / n
        ours = r["epoch_s"] if args.arch == "c8p" else epoch_seconds("c8p", x_train, y_train,
                                                                      args.train_images, args.repeats)
        r.update(origin_c8p_epoch_s=origin, origin_extrapolated_from_images=n, c8p_epoch_s=ours,
                 speedup_c8p_vs_origin=origin / ours)
    if args.json:
        print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in r.items()}))
    else:
        for k, v in r.items():
            print(f"{k:32} {v:,.3f}" if isinstance(v, float) else f"{k:32} {v}")



if __name__ == "__main__":
    main()
