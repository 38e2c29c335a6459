"""Benchmark: how long Stop takes to end a training run (not a test; the sidebar promises about a second).

    python benchmarks/bench_stop.py [--arch c8p c32pc64pd128] [--repeats 5]

For each network: train on the committed 1,000 images in a TrainingJob thread, as the sidebar does (batch 64,
100 epochs: long enough to be stopped midway, and over the size at which a worker process shares each batch),
wait until it is well under way, call stop() and time until the thread has ended, the model kept. Prints the
median and the maximum of --repeats runs.
"""
import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import cnn  # noqa: E402
from cnn.data import load_subset  # noqa: E402
from ui.training import TrainingJob  # noqa: E402


def stop_seconds(arch, batch_size, data):
    """Seconds from stop() to the run's thread having ended."""
    config = cnn.TrainConfig(epochs=100, n_train=len(data[0]), batch_size=batch_size)
    job = TrainingJob("bench", cnn.build_model(arch), data, config).start()
    deadline = time.monotonic() + 120
    while job.snapshot()["batch"] < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    start = time.perf_counter()
    job.stop()
    if not job.wait(timeout=120):
        raise SystemExit(f"error: {arch}: the run did not stop within 120 s")
    return time.perf_counter() - start


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--arch", nargs="+", default=["c8p", "c32pc64pd128"])
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    x_train, y_train, x_test, y_test = load_subset()
    data = (x_train, y_train, x_test[:200], y_test[:200])
    for arch in args.arch:
        times = [stop_seconds(arch, args.batch_size, data) for _ in range(args.repeats)]
        print(f"{arch}, batch {args.batch_size}: stop -> run ended: median {statistics.median(times):.3f} s, "
              f"max {max(times):.3f} s over {len(times)} runs", flush=True)


if __name__ == "__main__":
    main()
