"""Data parallelism over processes: worker processes each compute the gradients of one slice of every batch.

Threads could not use the second core well: a slice of a batch is dozens of short NumPy calls, and
threads wait for each other's GIL between them. A process has a GIL of its own.

Everything a step needs (weights, inputs, labels, and each worker's gradients, logits and loss) lives
in one block of shared memory, a temporary file that every process maps. A worker's stdin only says
"compute rows a to b of a batch of n" and its stdout only answers "done" (or an error message); the
pipes also order the memory accesses. Waiting processes poll their pipe for a moment before they
sleep, because a sleeping process takes about 0.1 ms to wake on a virtual machine, a few percent of a
step. A worker is a fresh `python -c` rather than a multiprocessing child, so scripts that call
cnn.train need no `if __name__ == "__main__"` guard; it exits when its stdin closes.
"""
import contextlib
import json
import mmap
import os
import select
import signal
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from .arch import IMAGE_SIZE
from .malloc import keep_freed_memory
from .model import N_CLASSES, Model, add_grads
from .spec import NetSpec


def available_cores(cgroup_root="/sys/fs/cgroup", self_cgroup="/proc/self/cgroup"):
    """Cores this process can keep busy: its CPU affinity, and no more than its cgroup's CPU quota (cgroup v2
    cpu.max, or v1 cpu.cfs_quota_us / cpu.cfs_period_us, the tightest on the way from its own cgroup up to the
    root), rounded down, at least 1. A hosted container's quota (0.078 to 2 cores) is not in its affinity."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    quota = _cgroup_quota(Path(cgroup_root), Path(self_cgroup))
    return max(1, min(cores, int(quota))) if quota is not None else cores


def _cgroup_quota(root, self_cgroup):
    """The tightest CPU quota in cores over this process's cgroup and its ancestors, or None (no limit, no file)."""
    try:
        own = [line.split(":", 2) for line in self_cgroup.read_text().splitlines()]
    except OSError:
        own = []
    v2 = next((p for h, c, p in own if h == "0" and c == ""), "/")
    v1 = next((p for _, c, p in own if "cpu" in c.split(",")), "/")
    quotas = []
    places = [(root, v2, _v2_quota), (root / "cpu", v1, _v1_quota), (root / "cpu,cpuacct", v1, _v1_quota)]
    for base, rel, read in places:
        parts = [part for part in rel.strip("/").split("/") if part and part != ".."]
        for depth in range(len(parts), -1, -1):               # own cgroup first, then each ancestor
            with contextlib.suppress(OSError, ValueError, ZeroDivisionError):
                quotas.append(read(base.joinpath(*parts[:depth])))
    quotas = [q for q in quotas if q is not None and q > 0]
    return min(quotas) if quotas else None


def _v2_quota(folder):
    quota, period = (folder / "cpu.max").read_text().split()[:2]
    return None if quota == "max" else int(quota) / int(period)


def _v1_quota(folder):
    quota = int((folder / "cpu.cfs_quota_us").read_text())
    return None if quota < 0 else quota / int((folder / "cpu.cfs_period_us").read_text())


# processes that share a training batch: one per core, up to 4 (a slice of a 64-image batch is small enough)
CORES = min(available_cores(), 4)
# the folder that holds this package, so a worker imports it by the same name (cnn.engine, or engine copied out)
_PACKAGE_ROOT = Path(__file__).resolve().parents[__package__.count(".") + 1]
POLL_SECONDS = 0.002   # how long a waiting process polls its pipe before it sleeps
JOB = struct.Struct("3q")   # rows a to b of a batch of n images
OK = b"\0"


class WorkerError(RuntimeError):
    """A worker process failed or stopped; the message says why."""


class Workers:
    """n worker processes for `model`'s batches of up to max_batch images. Use as a context manager.
    Raises OSError, or WorkerError, when they cannot start (then train in one process)."""

    def __init__(self, model, n, max_batch):
        self.model = model
        spec = {"spec": model.spec.to_dict(), "n": n, "max_batch": max_batch}
        size = _size(model, n, max_batch)
        self._file = tempfile.TemporaryFile()  # noqa: SIM115 (open while the workers live)
        self._file.truncate(size)
        self._map = mmap.mmap(self._file.fileno(), size)
        self._shared = Shared(self._map, model, n, max_batch)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(_PACKAGE_ROOT),
                                                                          os.environ.get("PYTHONPATH")]))}
        self._procs = []
        try:
            for i in range(n):
                arg = json.dumps({**spec, "i": i, "fd": self._file.fileno()})
                command = f"import sys; from {__package__}.parallel import serve; serve(sys.argv[1])"
                self._procs.append(subprocess.Popen(
                    [sys.executable, "-c", command, arg],
                    env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, pass_fds=(self._file.fileno(),)))
            for proc in self._procs:
                self._receive(proc, timeout=60)                      # ready
        except BaseException:
            self.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def loss_and_grads(self, x, labels, n_batch=None):
        """Model.loss_and_grads of a prepared batch (or of a part of a batch of n_batch), shared out: this
        process takes the first slice."""
        n, shared = len(x), self._shared
        if n <= len(self._procs):                                     # too few images to share out
            return self.model.loss_and_grads(x, labels, n_batch)
        bounds = np.linspace(0, n, len(self._procs) + 2).astype(int)
        _copy(shared.weights, self.model.params)
        shared.inputs[bounds[1]:n] = x[bounds[1]:]
        shared.labels[:n] = labels
        for proc, a, b in zip(self._procs, bounds[1:-1], bounds[2:], strict=True):
            _write(proc.stdin.fileno(), JOB.pack(a, b, n_batch or n))
        loss, grads, logits = self.model.loss_and_grads(x[:bounds[1]], labels[:bounds[1]], n_batch or n)
        parts = [logits]
        for i, (proc, a, b) in enumerate(zip(self._procs, bounds[1:-1], bounds[2:], strict=True)):
            self._receive(proc)
            loss += float(shared.losses[i])
            parts.append(shared.logits[i][:b - a])
            add_grads(grads, shared.grads[i])
        return loss, grads, np.concatenate(parts)

    @staticmethod
    def _receive(proc, timeout=None):
        fd = proc.stdout.fileno()
        if not _wait(fd, timeout):
            raise WorkerError("a training worker process did not start in time")
        reply = os.read(fd, 4096)
        if not reply:
            raise WorkerError("a training worker process stopped unexpectedly (was it killed, or out of "
                              "memory?); the weights from the start of this epoch were kept")
        if reply != OK:
            raise WorkerError(f"a training worker process failed: {reply[1:].decode(errors='replace')}")

    def close(self):
        for proc in self._procs:
            for pipe in (proc.stdin, proc.stdout):
                pipe.close()                                          # the worker exits when its stdin closes
        for proc in self._procs:
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._procs = []
        self._shared = self._map = None     # unmapped once no array views it (a traceback may still hold one)
        self._file.close()


class Shared:
    """Views of the shared memory. weights, and each worker's grads, are lists of dicts like model.params."""

    def __init__(self, buffer, model, n, max_batch):
        self._buffer, self._at = buffer, 0
        self.weights = self._dicts(model)
        self.grads = [self._dicts(model) for _ in range(n)]
        self.logits = [self._array(model.dtype, (max_batch, N_CLASSES)) for _ in range(n)]
        self.losses = self._array(np.float64, n)
        self.inputs = self._array(model.dtype, (max_batch, IMAGE_SIZE, IMAGE_SIZE, 1))
        self.labels = self._array(np.int64, max_batch)
        self.size = self._at

    def _array(self, dtype, shape):
        dtype = np.dtype(dtype)
        self._at = -(-self._at // 8) * 8                              # 8-byte aligned
        count = int(np.prod(shape))
        a = np.frombuffer(self._buffer, dtype, count, self._at).reshape(shape) if self._buffer is not None else None
        self._at += count * dtype.itemsize
        return a

    def _dicts(self, model):
        return [{k: self._array(a.dtype, a.shape) for k, a in p.items()} for p in model.params]


def _size(model, n, max_batch):
    return Shared(None, model, n, max_batch).size


def _copy(dst, src):
    """dst[...] = src, for two lists of dicts of arrays like Model.params."""
    for d, s in zip(dst, src, strict=True):
        for k in s:
            d[k][...] = s[k]


def _write(fd, data):
    with contextlib.suppress(OSError):   # the worker is gone: _receive says so
        os.write(fd, data)


def _wait(fd, timeout=None):
    """Wait until fd can be read (or up to timeout seconds): poll for POLL_SECONDS, then sleep."""
    end = time.perf_counter() + POLL_SECONDS
    while time.perf_counter() < end:
        if select.select([fd], [], [], 0)[0]:
            return True
    return bool(select.select([fd], [], [], timeout)[0])


def serve(arg):
    """A worker process: computes the slices that stdin asks for, until stdin closes."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)                      # Ctrl+C is for the trainer, which ends us
    spec = json.loads(arg)
    reply = os.dup(1)
    os.dup2(2, 1)                                                     # stray output must not reach the pipe
    keep_freed_memory()
    model = Model(NetSpec(**spec["spec"]))
    n, max_batch, i = spec["n"], spec["max_batch"], spec["i"]
    shared = Shared(mmap.mmap(spec["fd"], _size(model, n, max_batch)), model, n, max_batch)
    for p, w in zip(model.params, shared.weights, strict=True):
        p.update(w)                                                   # compute with the shared weights
    answer = OK
    with threadpool_limits(1, user_api="blas"), contextlib.suppress(BrokenPipeError):   # the trainer is gone
        while True:
            os.write(reply, answer)
            _wait(0)
            job = os.read(0, JOB.size)
            if len(job) < JOB.size:                                   # stdin closed: the trainer is done
                return
            a, b, n_batch = JOB.unpack(job)
            try:
                loss, grads, logits = model.loss_and_grads(shared.inputs[a:b], shared.labels[a:b], n_batch)
                _copy(shared.grads[i], grads)
                shared.logits[i][:b - a] = logits
                shared.losses[i] = loss
                answer = OK
            except Exception as e:   # raised in the parent, with its message
                answer = b"\1" + f"{type(e).__name__}: {e}".encode()[:4000]
