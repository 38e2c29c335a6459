"""A sweep: architectures x seeds trained under one protocol, each run one task on Dask distributed.

    python -m cnn sweep --origin --sample 100 --seeds 3          # the shipped study (weights/study.jsonl)
    python -m cnn sweep --archs c8p c16pc16 --seeds 2 --epochs 1 # an explicit list
    python -m cnn sweep --sample 20 --scheduler tcp://host:8786  # on a running Dask cluster

Without --scheduler, a LocalCluster runs one single-threaded worker process per core. Each task trains in
one process with one BLAS thread (cnn.train(processes=1)). Every finished run is written to the results file
at once (atomically), so an interrupted sweep resumes where it stopped and never repeats a finished run; a task
whose worker dies is run again elsewhere (Dask reschedules it, up to distributed.scheduler.allowed-failures).
"""
import argparse
import dataclasses
import json
import logging
import os
import sys
import time
from pathlib import Path

from cnn.engine.arch import ArchError, parse_arch

from . import findings, study
from .origin import CONFIGURATIONS

REFERENCE = Path("weights/experiment.json")
RETRIES = 1              # a task that raises is tried once more (e.g. a worker out of memory mid-run)
PROGRESS_SECONDS = 30    # a progress line at least this often
# run in each local worker process as it starts: Ctrl+C reaches the whole terminal group, and the sweep (not each
# worker) stops the cluster, quietly
IGNORE_CTRL_C = "import signal; signal.signal(signal.SIGINT, signal.SIG_IGN)"


@dataclasses.dataclass
class Progress:
    total: int           # runs in the sweep
    done: int = 0        # finished, this session or earlier
    failed: int = 0
    running: int = 0
    left_s: float = float("nan")

    def line(self):
        left = "?" if self.left_s != self.left_s else f"{int(self.left_s // 60)}:{int(self.left_s % 60):02d}"
        return f"{self.done}/{self.total} done, {self.running} running, {self.failed} failed, {left} left"


def plan(archs, seeds, protocol, records):
    """The (arch, seed) pairs of the sweep, and those of them the records do not hold yet."""
    finished = {study.run_key(r["arch"], r["seed"], r["protocol"]) for r in records}
    jobs = [(arch, seed) for arch in archs for seed in range(seeds)]
    return jobs, [job for job in jobs if study.run_key(*job, protocol) not in finished]


def run_sweep(client, archs, seeds, protocol, path, log=lambda line: None, on_progress=None):
    """Run every (arch, seed) not yet in the results file at `path` on `client`; write each as it ends.
    Returns the Progress at the end. The caller owns the client (and cancels on KeyboardInterrupt)."""
    from distributed import TimeoutError, wait

    records, skipped = study.read_results(path)
    if skipped:
        log(f"warning: {skipped} unreadable lines in {path} are dropped when it is next written")
    jobs, todo = plan(archs, seeds, protocol, records)
    progress = Progress(total=len(jobs), done=len(jobs) - len(todo))
    # the costliest runs first, so the last ones to finish are short
    pending = {client.submit(study.run_one, arch, seed, protocol, pure=False, retries=RETRIES,
                             priority=study.macs(arch)): (arch, seed) for arch, seed in todo}
    start, finished_here = time.perf_counter(), 0
    while pending:
        try:
            done, _ = wait(list(pending), timeout=PROGRESS_SECONDS, return_when="FIRST_COMPLETED")
        except TimeoutError:
            done = []
        for future in done:
            arch, seed = pending.pop(future)
            if future.status == "finished":
                study.add_results([future.result()], path)      # re-read under a lock: another sweep may write too
                progress.done, finished_here = progress.done + 1, finished_here + 1
            else:
                progress.failed += 1
                log(f"{arch} seed {seed} failed: {future.exception()!r}")
        keys = {f.key for f in pending}   # a worker may hold a task queued behind the one it runs: count threads
        progress.running = min(sum(k in keys for ks in client.processing().values() for k in ks),
                               sum(client.nthreads().values()))
        if finished_here:
            progress.left_s = (time.perf_counter() - start) / finished_here * len(pending)
        log(progress.line())
        if on_progress:
            on_progress(progress)
    return progress


def choose_archs(args):
    """The explicit list, the origin's ten and a seeded sample of the grammar, in that order, without repeats."""
    archs = list(args.archs or []) + (CONFIGURATIONS if args.origin else [])
    if args.sample:
        archs += study.sample(args.sample, args.sample_seed, args.max_params, args.max_macs)
    for arch in archs:
        parse_arch(arch)
    return list(dict.fromkeys(archs))


def connect(args):
    """(client, cluster): a running scheduler's client, or a new LocalCluster of single-threaded processes."""
    from distributed import Client, LocalCluster

    if args.scheduler:
        return Client(args.scheduler, timeout="30s"), None
    workers = args.workers or len(os.sched_getaffinity(0))
    cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                           dashboard_address="127.0.0.1:0", silence_logs=logging.CRITICAL, preload=[IGNORE_CTRL_C])
    return Client(cluster), cluster


def parser():
    p = argparse.ArgumentParser(prog="python -m cnn sweep", description=__doc__.split("\n")[0])
    p.add_argument("--archs", nargs="+", metavar="ARCH", help="architectures to train")
    p.add_argument("--origin", action="store_true", help="add the origin's ten configurations")
    p.add_argument("--sample", type=int, default=0, metavar="N", help="add N architectures sampled from the grammar")
    p.add_argument("--sample-seed", type=int, default=0, help="seed of the sample (default 0)")
    p.add_argument("--max-params", type=int, default=100_000, help="sample bound on parameters (default 100,000)")
    p.add_argument("--max-macs", type=int, default=400_000,
                   help="sample bound on multiply-adds per image (default 400,000, about c16pc16)")
    p.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 for every architecture (default 3)")
    for name, value in study.PROTOCOL.items():
        p.add_argument(f"--{name.replace('_', '-')}", type=type(value), default=value,
                       help=f"protocol (default {value})")
    p.add_argument("--out", default="weights/study.jsonl", help="results file (default weights/study.jsonl)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="a running Dask scheduler, e.g. tcp://host:8786")
    p.add_argument("--workers", type=int, help="local worker processes (default: one per core)")
    p.add_argument("--list", action="store_true", help="print the architectures and what is left to run, then stop")
    p.add_argument("--summary", action="store_true", help="print the findings of the results file's runs of this "
                   "protocol (of --archs only, when given), ranked against --reference's full protocol, then stop")
    p.add_argument("--reference", default=str(REFERENCE), help="the experiment whose full protocol the summary's "
                   f"rank check compares with (default {REFERENCE})")
    return p


def main(argv=None):
    p = parser()
    args = p.parse_args(argv)
    protocol = {name: getattr(args, name) for name in study.PROTOCOL}
    try:
        archs = choose_archs(args)
    except ArchError as e:
        p.exit(2, f"error: {e}\n")
    if args.summary:
        return summary(p, args, archs, protocol)
    if not archs or args.seeds < 1:
        p.exit(2, "error: nothing to run: give --archs, --origin or --sample N, and --seeds of at least 1\n")
    log = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    if args.list:
        jobs, todo = plan(archs, args.seeds, protocol, study.read_results(args.out)[0])
        return print("\n".join(archs) + f"\n{len(archs)} architectures, {len(jobs)} runs, {len(todo)} to run")
    client = cluster = None
    try:
        client, cluster = connect(args)
        log(f"{len(archs)} architectures x {args.seeds} seeds on {len(client.scheduler_info()['workers'])} workers"
            f" -> {args.out}")
        progress = run_sweep(client, archs, args.seeds, protocol, args.out, log)
    except KeyboardInterrupt:
        log(f"interrupted: the finished runs are in {args.out}; run the same command again to resume")
        sys.exit(130)
    except OSError as e:                      # no scheduler at that address, a results folder not writable, ...
        p.exit(2, f"error: {e}\n")
    finally:
        _close(client, cluster)
    if progress.failed:
        sys.exit(1)


def summary(p, args, archs, protocol):
    """--summary: the findings of the results file's runs of this protocol (of `archs` only, when given)."""
    records, skipped = study.read_results(args.out)
    if not Path(args.out).exists():
        p.exit(2, f"error: no results file at {args.out} (run a sweep first, or give --out)\n")
    if archs:
        records = [r for r in records if r["arch"] in archs]
    key = study.protocol_key(protocol)
    if not any(study.protocol_key(r["protocol"]) == key for r in records):
        p.exit(2, f"error: {args.out} holds no runs of this protocol{' and these architectures' if archs else ''} "
                  f"({key}); give the protocol options the sweep used\n")
    reference = full_protocol_accuracy(args.reference)
    if not reference:
        print(f"warning: {args.reference} has no full-protocol runs: the summary has no rank check", file=sys.stderr)
    if skipped:
        print(f"warning: {skipped} unreadable lines in {args.out} were skipped", file=sys.stderr)
    print(findings.report(records, key, reference))


def full_protocol_accuracy(path):
    """{arch: mean final test accuracy} of the full protocol in experiment.json ({} when there is none)."""
    try:
        runs = json.loads(Path(path).read_text())["protocols"]["full"]["runs"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    accs = {}
    for run in runs:
        accs.setdefault(run["arch"], []).append(run["history"][-1]["test_acc"])
    return {arch: sum(a) / len(a) for arch, a in accs.items()}


def _close(client, cluster):
    """Cancel what is still running and stop the cluster, quietly (Ctrl+C may arrive here too)."""
    logging.getLogger("distributed").setLevel(logging.CRITICAL)
    for thing in (client, cluster):
        try:
            if thing is not None:
                thing.close()
        except (Exception, KeyboardInterrupt):   # noqa: S110 (closing: nothing left to report)
            pass


if __name__ == "__main__":
    main()
