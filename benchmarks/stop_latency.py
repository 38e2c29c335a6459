"""How long a Stop takes to end a training run, inside a long epoch (not collected by pytest).

    python benchmarks/stop_latency.py [--arch c256 c1c8c128pd16] [--batch 512] [--repeats 3] [--json]

For each network: cnn.train on the full MNIST training set (worker processes included, as in the app), a Stop
pressed at a random moment a few batches into the first epoch, and the seconds until cnn.train returns: with the
stop() check between parts of a batch (the app's way), and with only the callback after each batch (then the batch
runs to its end). Both then test on the first TEST_CHUNK test images only; before this check existed, a stop was
followed by a test pass over all 10,000, also printed. The two ways alternate; medians are printed. CPU time, not
wall time, is the figure to quote on a shared machine: another process's load stretches the wall time but not the
work done between the press and the return.
"""
import argparse
import itertools
import json
import random
import statistics
import sys
import threading
import time
from pathlib import Path

from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import cnn  # noqa: E402
from cnn.engine.training import STOP_CHECK_IMAGES, TEST_CHUNK  # noqa: E402


def one_stop(arch, data, batch, checked, delay):
    """(wall seconds, CPU seconds of the training thread) from pressing Stop (`delay` s after the first step) to
    cnn.train returning, and the CPU seconds of each whole step before it. The machine is shared: the training
    thread's CPU time is what the stop costs on an idle machine (the workers compute their slices meanwhile)."""
    pressed, stepped, steps, ended = threading.Event(), threading.Event(), [], {}

    def callback(event):
        if event["kind"] == "batch":
            steps.append(time.thread_time())
            stepped.set()
        return pressed.is_set()

    def run():
        cnn.train(model, *data, config, callback, stop=pressed.is_set if checked else None)
        ended["cpu"], ended["wall"] = time.thread_time(), time.perf_counter()
    model = cnn.build_model(arch)
    config = cnn.TrainConfig(epochs=1, batch_size=batch, n_train=len(data[0]))
    thread = threading.Thread(target=run)
    thread.start()
    stepped.wait(600)
    time.sleep(delay)
    clock = time.pthread_getcpuclockid(thread.ident)
    wall, cpu = time.perf_counter(), time.clock_gettime(clock)
    pressed.set()
    thread.join()
    return ended["wall"] - wall, ended["cpu"] - cpu, [b - a for a, b in itertools.pairwise(steps)]


def test_cpu(arch, x_test):
    """CPU seconds of a forward pass over TEST_CHUNK test images, and over all of them (one BLAS thread)."""
    model = cnn.build_model(arch)
    figures = {}
    with threadpool_limits(1, user_api="blas"):
        model.logits(x_test[:TEST_CHUNK])                                     # warm up
        for name, n in (("test_chunk_cpu_s", TEST_CHUNK), ("test_pass_cpu_s", len(x_test))):
            start = time.thread_time()
            model.logits(x_test[:n])
            figures[name] = time.thread_time() - start
    return figures


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--arch", nargs="+", default=["c256", "c1c8c128pd16"],
                   help="networks (default: two of the costliest to train under the compute budget)")
    p.add_argument("--batch", type=int, default=512)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    cnn.keep_freed_memory()
    data = cnn.load_mnist()
    rng = random.Random(0)
    figures = []
    for arch in args.arch:
        runs = {True: [], False: []}
        for _ in range(args.repeats):
            for checked in (True, False):
                runs[checked].append(one_stop(arch, data, args.batch, checked, rng.uniform(1.0, 3.0)))
        f = {"arch": arch, "batch": args.batch, "repeats": args.repeats, **test_cpu(arch, data[2]),
             "step_cpu_s": statistics.median([s for r in runs[True] + runs[False] for s in r[2]] or [float("nan")])}
        for checked, name in ((True, "checked"), (False, "batch_only")):
            f[f"stop_cpu_s_{name}"] = statistics.median(r[1] for r in runs[checked])
            f[f"stop_wall_s_{name}"] = statistics.median(r[0] for r in runs[checked])
        figures.append(f)
        if not args.json:
            print(f"{arch}, batch {args.batch}: a step {f['step_cpu_s']:.2f} s of the trainer's CPU (its slice; the "
                  f"workers compute theirs meanwhile), {TEST_CHUNK} test images {f['test_chunk_cpu_s']:.2f} s, all "
                  f"{len(data[2]):,} {f['test_pass_cpu_s']:.2f} s. Stop -> returned (trainer's CPU, median of "
                  f"{args.repeats}): {f['stop_cpu_s_checked']:.2f} s with a check every {STOP_CHECK_IMAGES} images, "
                  f"{f['stop_cpu_s_batch_only']:.2f} s when only the end of a batch is checked (wall: "
                  f"{f['stop_wall_s_checked']:.2f} s and {f['stop_wall_s_batch_only']:.2f} s)", flush=True)
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
