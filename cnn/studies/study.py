"""An architecture study: one run (an architecture, a seed, a protocol) as a plain function, samples of the
grammar under a parameter and compute bound, and the results file. No Dask here: cnn/studies/sweep.py runs these
functions as Dask tasks, and the app reads the results file without Dask.

The results file holds one JSON object per line, one line per finished run:

    {"arch": str, "seed": int, "protocol": {PROTOCOL fields}, "params": int, "macs": int,
     "code_version": str, "history": [{"epoch", "train_loss", "train_acc", "test_loss", "test_acc",
     "seconds", "complete"}], "final": {"train_acc", "test_acc", "test_loss"}, "epoch_s": float,
     "run_s": float, "train_cpu_s": float, "finished": "YYYY-MM-DDTHH:MM:SSZ"}

epoch_s is wall-clock time, as the user waits for it; train_cpu_s (the process's CPU time for training and testing,
one thread) hardly changes with the machine's load. Results written before train_cpu_s was recorded lack it.
"""
import fcntl
import functools
import hashlib
import json
import math
import time
from pathlib import Path

import numpy as np

from cnn.engine.arch import ArchError, cost, parse_arch
from cnn.engine.arch import n_params as arch_params
from cnn.engine.malloc import keep_freed_memory
from cnn.engine.model import build_model
from cnn.engine.training import TrainConfig, train
from cnn.files.atomic import write_atomic
from cnn.files.mnist import load_mnist, load_subset

# The study's protocol (see docs/study.md for why it ranks like the full protocol).
PROTOCOL = dict(data="mnist", n_train=5000, n_test=10000, epochs=2, lr=0.002, lr_decay=0.6, batch_size=64,
                optimizer="adam", activation="relu")
WIDTHS = (4, 8, 16, 32, 64)   # filters a sampled convolution may have
DENSE = (32, 64, 128)          # units a sampled hidden dense layer may have


def macs(arch):
    """Multiply-adds of one image's forward pass (convolutions and dense layers, the softmax layer included)."""
    return cost(parse_arch(arch))[0]


def n_params(arch):
    """Weights and biases of the network, the softmax layer included."""
    return arch_params(parse_arch(arch))


def sample(n, seed=0, max_params=100_000, max_macs=400_000, max_tries=100_000):
    """n distinct architectures drawn from the grammar with `seed`: 1-4 convolutions of WIDTHS filters, each
    followed by a 2x2 pooling or not, then at most one hidden dense layer; each within both bounds."""
    rng, found = np.random.default_rng(seed), {}
    for _ in range(max_tries):
        if len(found) == n:
            break
        arch = "".join(f"c{rng.choice(WIDTHS)}" + ("p" if rng.random() < 0.5 else "")
                       for _ in range(rng.integers(1, 5)))
        if rng.random() < 0.25:
            arch += f"d{rng.choice(DENSE)}"
        try:
            if n_params(arch) <= max_params and macs(arch) <= max_macs:
                found[arch] = None
        except ArchError:         # e.g. four convolutions and three poolings shrink the image below 1x1
            continue
    return list(found)


def describe(arch):
    """Depth (convolutions), pooling count and widest convolution of an architecture."""
    layers = parse_arch(arch)
    convs = [n for kind, n in layers if kind == "c"]
    return {"depth": len(convs), "pools": sum(kind == "p" for kind, _ in layers), "width": max(convs, default=0),
            "dense": sum(kind == "d" for kind, _ in layers)}


@functools.lru_cache(maxsize=1)
def code_version():
    """A hash of the engine's source files (cnn/engine/*.py) as this process first saw them (it runs what it
    imported then): runs with the same hash ran the same code."""
    digest = hashlib.sha256()
    for path in sorted((Path(__file__).parents[1] / "engine").glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def protocol_key(protocol):
    """A protocol as one string (its JSON with sorted keys): equal protocols, equal strings."""
    return json.dumps(protocol, sort_keys=True)


def run_key(arch, seed, protocol):
    """What makes two runs the same run: a finished one is never repeated."""
    return arch, int(seed), protocol_key(protocol)


def run_one(arch, seed, protocol):
    """Train `arch` with `seed` under `protocol` in this process with one BLAS thread; return its record."""
    start = time.perf_counter()
    keep_freed_memory()           # as the command line does: a training step reuses freed memory (cnn/engine/malloc.py)
    x_train, y_train, x_test, y_test = load_subset() if protocol["data"] == "subset" else load_mnist()
    model = build_model(arch, activation=protocol["activation"], seed=seed)
    config = TrainConfig(epochs=protocol["epochs"], lr=protocol["lr"], lr_decay=protocol["lr_decay"],
                         batch_size=protocol["batch_size"], optimizer=protocol["optimizer"],
                         n_train=protocol["n_train"], seed=seed)
    cpu = time.process_time()
    history = train(model, x_train, y_train, x_test[:protocol["n_test"]], y_test[:protocol["n_test"]], config,
                    processes=1)
    cpu = time.process_time() - cpu
    last = history[-1]
    return {"arch": arch, "seed": int(seed), "protocol": dict(protocol), "params": model.n_params,
            "macs": macs(arch), "code_version": code_version(), "history": history,
            "final": {k: last[k] for k in ("train_acc", "test_acc", "test_loss")},
            "epoch_s": float(np.median([e["seconds"] for e in history])),
            "run_s": time.perf_counter() - start, "train_cpu_s": cpu,
            "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def read_results(path):
    """The records of a results file; lines that are not a valid record are skipped (returns records, skipped)."""
    records, skipped = [], 0
    path = Path(path)
    if not path.exists():
        return records, skipped
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                record = json.loads(line)
                _check(record)
            except (ValueError, KeyError, TypeError, ArchError):
                skipped += 1
                continue
            records.append(record)
    return records, skipped


def _check(record):
    parse_arch(record["arch"])
    numbers = [record["final"][k] for k in ("train_acc", "test_acc", "test_loss")] + [record["epoch_s"]]
    numbers += [e[k] for e in record["history"] for k in ("epoch", "test_acc", "test_loss", "seconds")]
    if not (isinstance(record["seed"], int) and isinstance(record["protocol"], dict) and record["history"]
            and all(isinstance(v, (int, float)) and math.isfinite(v) for v in numbers)):
        raise ValueError("not a run record")


def add_results(new, path):
    """Add the records `new` to the results file at `path`, keeping every record already there, even one another
    sweep wrote after this one read the file: the file is read again and rewritten under an exclusive lock
    (a lock file beside it), so concurrent sweeps on one file lose nothing. A run already there is not added
    twice. Returns the file's records."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)                  # released when the lock file is closed
        records, _ = read_results(path)
        have = {run_key(r["arch"], r["seed"], r["protocol"]) for r in records}
        records += [r for r in new if run_key(r["arch"], r["seed"], r["protocol"]) not in have]
        write_results(records, path)
    return records


def write_results(records, path):
    """Replace the results file with `records`, one per line, atomically: a reader (or a crash) sees the old
    file or the new one, never half of one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records).encode())
