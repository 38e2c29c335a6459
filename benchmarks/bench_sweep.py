"""Sweep throughput: the same runs done serially in this process, and as a sweep on a LocalCluster of 1 and of 2
worker processes, alternating in one run (medians of --repeats); and the engine's own cost per task.
With --cpu-times: the CPU time of one epoch of every architecture in a results file (one process, one thread; it
hardly depends on the machine's load, unlike wall time), and the study's findings per CPU second.

    MNIST_DIR=../shared/mnist nice -n 10 python benchmarks/bench_sweep.py --repeats 3
    MNIST_DIR=../shared/mnist nice -n 10 python benchmarks/bench_sweep.py --cpu-times weights/study.jsonl
"""
import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from distributed import Client, LocalCluster

from cnn.engine.model import build_model
from cnn.engine.training import TrainConfig, train
from cnn.studies import findings, study, sweep

ARCHS = ["c8p", "c16p", "c8pc8", "c8pc16", "c16pc8", "c16pc16", "c8pc8p", "c16pc16p"]


def serial(protocol):
    """(seconds for the runs, the runs' own seconds inside run_one)."""
    start = time.perf_counter()
    inside = sum(study.run_one(arch, 0, protocol)["run_s"] for arch in ARCHS)
    return time.perf_counter() - start, inside


def warm():
    study.load_mnist()


def on_cluster(workers, protocol):
    """(seconds for the runs, the runs' own seconds inside their tasks, seconds to start the cluster, ms of a
    worker's time per empty task) on a new LocalCluster."""
    start = time.perf_counter()
    with (LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                       dashboard_address="127.0.0.1:0", silence_logs=50, preload=[sweep.IGNORE_CTRL_C]) as cluster,
          Client(cluster) as client):
        started = time.perf_counter()
        client.run(warm)                                      # every worker reads MNIST once, as serial() already has
        empty = time.perf_counter()
        client.gather(client.map(lambda i: i, range(200), pure=False))
        per_task_ms = (time.perf_counter() - empty) / 200 * 1000 * workers
        with tempfile.TemporaryDirectory() as folder:
            begin = time.perf_counter()
            sweep.run_sweep(client, ARCHS, 1, protocol, Path(folder) / "study.jsonl")
            seconds = time.perf_counter() - begin
            inside = sum(r["run_s"] for r in study.read_results(Path(folder) / "study.jsonl")[0])
            return seconds, inside, started - start, per_task_ms


def cpu_times(path, scale=5):
    """Each architecture's CPU seconds for one epoch of the study's protocol (5,000 training and 10,000 test
    images), measured on a fifth of both and scaled; then the findings against that cost."""
    rows = findings.summarise(study.read_results(path)[0], study.protocol_key(study.PROTOCOL))
    x_train, y_train, x_test, y_test = study.load_mnist()
    n_train, n_test = study.PROTOCOL["n_train"] // scale, study.PROTOCOL["n_test"] // scale
    for row in rows:
        model = build_model(row["arch"], seed=0)
        start = time.process_time()
        train(model, x_train, y_train, x_test[:n_test], y_test[:n_test], TrainConfig(epochs=1, n_train=n_train),
              processes=1)
        row["cpu_s"] = (time.process_time() - start) * scale
    for row, on in zip(rows, findings.pareto([r["cpu_s"] for r in rows], [r["acc"] for r in rows]), strict=True):
        row["front_cpu_s"] = bool(on)
    coefs, r2 = findings.effects(rows, "cpu_s")
    macs_rank, cpu_rank = findings.ranks([r["macs"] for r in rows]), findings.ranks([r["cpu_s"] for r in rows])
    front = sorted((r for r in rows if r["front_cpu_s"]), key=lambda r: r["cpu_s"])
    return {"effects_per_cpu_s": coefs, "r2": r2, "knee": (findings.knee(rows, "cpu_s") or {}).get("arch"),
            "spearman_macs_cpu": float(statistics.correlation(macs_rank, cpu_rank)),
            "front": [(r["arch"], round(r["cpu_s"], 2), round(r["acc"], 4)) for r in front],
            "cpu_s": {r["arch"]: round(r["cpu_s"], 3) for r in rows}}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--n-train", type=int, default=3000)
    p.add_argument("--cpu-times", metavar="RESULTS", help="time every architecture of a results file instead")
    args = p.parse_args()
    if args.cpu_times:
        return print(json.dumps(cpu_times(args.cpu_times), indent=1))
    protocol = dict(study.PROTOCOL, n_train=args.n_train, epochs=1, n_test=2000)
    study.load_mnist()
    figures = {k: [] for k in ("serial", "serial inside runs", "1 worker", "1 worker inside runs", "2 workers",
                               "2 workers inside runs", "cluster start", "empty task ms")}
    for _ in range(args.repeats):
        seconds, inside = serial(protocol)
        figures["serial"].append(seconds)
        figures["serial inside runs"].append(inside)
        for workers in (1, 2):
            name = f"{workers} worker{'s' * (workers > 1)}"
            seconds, inside, start, per_task = on_cluster(workers, protocol)
            figures[name].append(seconds)
            figures[f"{name} inside runs"].append(inside)
            figures["cluster start"].append(start)
            figures["empty task ms"].append(per_task)
    medians = {k: statistics.median(v) for k, v in figures.items()}
    medians.update(runs=len(ARCHS), protocol=protocol, speedup_1=medians["serial"] / medians["1 worker"],
                   speedup_2=medians["serial"] / medians["2 workers"],
                   overhead_per_run_s=(medians["1 worker"] - medians["serial"]) / len(ARCHS))
    print(json.dumps({"medians": medians, "all": figures}, indent=1))


if __name__ == "__main__":
    main()
