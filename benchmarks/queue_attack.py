"""The training-queue attack (issue 20), on the app's admission layer with real training jobs on real MNIST.

17 hostile visitors each queue the costliest run the sidebar allows (the costliest network, 60,000 images, as many
epochs as allowed: 100 before the cap), within a few seconds; then an honest visitor queues a small run (the
sidebar's default: c16pc16, 1 epoch of 10,000 images). Reported: how many hostile runs were queued or refused,
and the seconds from the honest visitor's Start to its run training (or its refusal). The jobs are the app's own
(ui.core.jobs.TrainingJob in ui.core.admission's queue, sized as the app sizes it on this machine), queued under
the owners and with the time slice the sidebar gives them in public mode when this version has them.

    MNIST_DIR=../shared/mnist python benchmarks/queue_attack.py [--addresses one|many] [--deadline 300]

--addresses one: the hostile visitors share one client address (one machine running a script); many: each has its
own (a distributed attacker). Run it from another checkout's root (PYTHONPATH=that) to measure that version.
"""
import argparse
import inspect
import os
import sys
import tempfile
import time

sys.path.insert(0, os.getcwd())                  # the checkout measured: the current folder's cnn/ and ui/

from hostile import largest_arch  # noqa: E402  (the costliest network the grammar allows)

import cnn  # noqa: E402
from ui.core import admission  # noqa: E402
from ui.core.jobs import TrainingJob  # noqa: E402

N_HOSTILE = 17


def make_job(name, arch, data, epochs, n_train, owners, new_api):
    config = cnn.TrainConfig(epochs=epochs, n_train=n_train)
    config.validate(len(data[0]))
    model = cnn.build_model(cnn.NetSpec(arch, "relu"), seed=0)
    extra = dict(owners=owners, slice_s=admission.slice_seconds()) if new_api else {}
    return TrainingJob(name, model, data, config, admission=admission.TRAINING, **extra)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--addresses", choices=["one", "many"], default="one")
    ap.add_argument("--deadline", type=float, default=300, help="give up waiting for the honest run after this")
    args = ap.parse_args()
    os.environ.setdefault("CNN_DATA_DIR", tempfile.mkdtemp())          # the shared slots' lock files
    new_api = "owners" in inspect.signature(TrainingJob).parameters
    data = cnn.load_mnist()
    arch = largest_arch()
    epochs = min(100, admission.max_images() // 60000) if new_api else 100
    print(f"version: {'with owners, cap and slice' if new_api else 'before (no owners, no cap)'}; "
          f"slots {admission.TRAINING.slots}, queue {admission.TRAINING.max_waiting}; hostile runs: {arch}, "
          f"{epochs} epochs of 60,000 images; addresses: {args.addresses}"
          + (f"; slice {admission.slice_seconds():g} s" if new_api else ""), flush=True)
    hostile, refused, t0 = [], 0, time.monotonic()
    for i in range(N_HOSTILE):
        owners = (f"visitor:hostile-{i}", "address:203.0.113.7" if args.addresses == "one" else f"address:10.0.0.{i}")
        try:
            hostile.append(make_job(f"hostile-{i}", arch, data, epochs, 60000, owners, new_api).start())
        except admission.Busy:
            refused += 1
    print(f"hostile: {len(hostile)} queued or running, {refused} refused, in {time.monotonic() - t0:.1f} s",
          flush=True)
    time.sleep(5)                                # the first hostile run is training
    honest = make_job("honest", "c16pc16", data, 1, 10000, ("visitor:honest", "address:198.51.100.1"), new_api)
    started = False
    t0 = time.monotonic()
    try:
        honest.start()
        started = True
    except admission.Busy as e:
        print(f"honest run refused after {time.monotonic() - t0:.1f} s: {e}")
    else:
        while honest.snapshot()["status"] in ("starting", "queued") and time.monotonic() - t0 < args.deadline:
            time.sleep(0.1)
        status = honest.snapshot()["status"]
        waited = time.monotonic() - t0
        print(f"honest run: {status} after {waited:.1f} s" if status not in ("starting", "queued") else
              f"honest run: still queued (place {honest.snapshot()['position']}) after {waited:.0f} s")
        gave_way = sum(j.snapshot().get("gave_way", False) for j in hostile)
        print(f"hostile runs that gave way: {gave_way}")
    for job in hostile + [honest] * started:
        job.stop()
    for job in hostile + [honest] * started:
        job.wait(60)


if __name__ == "__main__":
    main()
