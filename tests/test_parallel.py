"""Training shared out over worker processes (cnn/engine/parallel.py) and in chunks (Model.train_chunk)."""
import logging
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import cnn
from cnn.engine import parallel, training
from cnn.engine.parallel import Workers
from cnn.studies.bench import children_peak_rss_mb
from helpers import until

pytestmark = pytest.mark.skipif(os.name != "posix", reason="worker processes are used on POSIX systems only")


@pytest.fixture
def started(monkeypatch):
    """Every training run uses worker processes; the list collects the Workers that cnn.train started."""
    started = []

    class Spy(Workers):
        def __init__(self, *args):
            super().__init__(*args)
            started.append(self)

    monkeypatch.setattr(training, "MIN_PARALLEL_IMAGES", 0)
    monkeypatch.setattr(training, "CORES", 2)
    monkeypatch.setattr(training, "Workers", Spy)
    return started


def batch(subset, n=50):
    return subset["x_train"][:n], subset["y_train"][:n]


def assert_same_step(result, expected):
    """Two (loss, grads, logits) results of loss_and_grads agree to float64 rounding."""
    loss, grads, logits = result
    assert loss == pytest.approx(expected[0], rel=1e-12)
    np.testing.assert_allclose(logits, expected[2], rtol=1e-12)
    for g, e in zip(grads, expected[1], strict=True):
        for k in e:
            np.testing.assert_allclose(g[k], e[k], rtol=1e-10, atol=1e-14)


def test_workers_compute_what_one_process_computes(subset):
    model = cnn.build_model("c8pc8", dtype=np.float64, seed=1)
    images, labels = batch(subset)
    x = model.prepare(images)
    expected = model.loss_and_grads(x, labels)
    with Workers(model, 2, 64) as workers:                           # three slices: 16, 17 and 17 images
        for _ in range(2):                                            # the second step reuses the workers
            assert_same_step(workers.loss_and_grads(x, labels), expected)
        model.params[0]["W"][...] = 0                                 # the workers see the new weights
        np.testing.assert_allclose(workers.loss_and_grads(x, labels)[2], model.loss_and_grads(x, labels)[2])
        assert workers.loss_and_grads(x[:2], labels[:2])[0] == pytest.approx(model.loss_and_grads(x[:2], labels[:2])[0])
        procs = list(workers._procs)
        assert children_peak_rss_mb() > 10 or not os.path.exists("/proc")   # their memory, as cnn.studies.bench sees it
    assert all(p.poll() is not None for p in procs)                   # closing ends the processes


def test_chunks_add_up_to_the_whole_batch(subset):
    model = cnn.build_model("c8pc8", dtype=np.float64)
    images, labels = batch(subset, 37)
    x = model.prepare(images)
    model.train_chunk = 1000
    whole = model.loss_and_grads(x, labels)
    model.train_chunk = 8                                             # 8 + 8 + 8 + 8 + 5 images
    assert_same_step(model.loss_and_grads(x, labels), whole)


def test_chunk_size_follows_the_largest_im2col_copy():
    assert cnn.build_model("c8p").train_chunk == 64                   # 13x13 patches of 4x4x1: small
    assert cnn.build_model("c16pc16").train_chunk == 16               # 13x13x144 values per image to fit in 2 MB
    assert cnn.build_model("c32pc64pd128").train_chunk == 16          # at least 16


def test_training_with_workers_matches_one_process(subset, started, monkeypatch):
    config = cnn.TrainConfig(epochs=2, n_train=1000, batch_size=32, seed=3)
    data = (subset["x_train"], subset["y_train"], subset["x_test"][:300], subset["y_test"][:300])
    shared = cnn.train(cnn.build_model("c8p", seed=3), *data, config)
    again = cnn.train(cnn.build_model("c8p", seed=3), *data, config)
    assert len(started) == 2 and all(not w._procs for w in started)   # two runs, their workers closed
    monkeypatch.setattr(training, "CORES", 1)
    alone = cnn.train(cnn.build_model("c8p", seed=3), *data, config)
    assert len(started) == 2
    for a, b, c in zip(shared, again, alone, strict=True):
        assert {k: v for k, v in a.items() if k != "seconds"} == {k: v for k, v in b.items() if k != "seconds"}
        assert a["train_loss"] == pytest.approx(c["train_loss"], rel=1e-4)   # float32 sums in another order
        assert a["test_acc"] == pytest.approx(c["test_acc"], abs=0.01)


def test_a_killed_worker_stops_training_with_a_message_and_the_weights_kept(subset, started):
    model = cnn.build_model("c8p")
    before = model.get_weights()

    def kill_at_batch_5(event):
        if event["kind"] == "batch" and event["batch"] == 5:
            os.kill(started[0]._procs[0].pid, signal.SIGKILL)

    config = cnn.TrainConfig(epochs=1, n_train=1000, batch_size=32)
    with pytest.raises(cnn.WorkerError, match="stopped unexpectedly"):
        cnn.train(model, subset["x_train"], subset["y_train"], subset["x_test"][:100], subset["y_test"][:100],
                  config, kill_at_batch_5)
    for w, b in zip(model.get_weights(), before, strict=True):                     # the weights from the epoch's start
        for k in b:
            np.testing.assert_array_equal(w[k], b[k])
    assert not started[0]._procs


def test_the_app_reports_a_killed_worker(subset, started):
    from ui.core.jobs import TrainingJob

    job = TrainingJob("w", cnn.build_model("c8p"), (subset["x_train"], subset["y_train"], subset["x_test"][:100],
                                                    subset["y_test"][:100]),
                      cnn.TrainConfig(epochs=50, n_train=1000, batch_size=32))
    job.start()
    assert until(lambda: started and started[0]._procs, 60)
    os.kill(started[0]._procs[0].pid, signal.SIGKILL)
    assert job.wait(timeout=60)
    s = job.snapshot()
    assert s["status"] == "failed" and "worker process stopped unexpectedly" in s["error"]


def test_training_goes_on_in_one_process_when_workers_cannot_start(subset, started, monkeypatch, caplog):
    monkeypatch.setattr(sys, "executable", "/nonexistent/python")
    caplog.set_level(logging.WARNING, logger="cnn.engine.training")
    history = cnn.train(cnn.build_model("c4p"), subset["x_train"], subset["y_train"], subset["x_test"][:100],
                        subset["y_test"][:100], cnn.TrainConfig(epochs=1, n_train=256, batch_size=32))
    assert len(history) == 1 and not started
    assert "could not start worker processes" in caplog.text


def test_a_worker_error_comes_back_with_its_message(subset):
    model = cnn.build_model("c4p")
    x = model.prepare(batch(subset, 8)[0])
    with Workers(model, 1, 8) as workers:
        with pytest.raises(cnn.WorkerError, match="IndexError"):
            workers.loss_and_grads(x, np.array([0, 1, 2, 3, 4, 5, 6, 99]))   # label 99 in the worker's slice
        assert workers.loss_and_grads(x, np.arange(8))[0] > 0          # and the worker goes on


def test_workers_end_when_their_parent_is_killed(tmp_path):
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(parallel.__file__.rsplit('/cnn/', 1)[0])!r})
        import cnn
        from cnn.engine.parallel import Workers
        w = Workers(cnn.build_model("c4p"), 1, 64)
        print(w._procs[0].pid, flush=True)
        sys.stdin.read()
    """)
    parent = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    worker = int(parent.stdout.readline())
    parent.kill()
    parent.wait()
    assert until(lambda: not _alive(worker), 10)


def _alive(pid):
    if not os.path.exists("/proc"):
        try:
            os.kill(pid, 0)
            return True
        except ProcessLookupError:
            return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"                   # not a zombie awaiting its reaper
    except FileNotFoundError:
        return False


def test_ctrl_c_stops_the_command_line_trainer_and_its_worker_without_a_traceback(tmp_path):
    out = tmp_path / "model.npz"
    proc = subprocess.Popen([sys.executable, "-m", "cnn", "train", "--arch", "c8p", "--epochs", "3", "--out", str(out)],
                            cwd=Path(cnn.__file__).parents[1], stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    seen = ""
    while "epoch 1:" not in seen and (c := proc.stderr.read(1)):       # until the second epoch has begun
        seen += c
    os.killpg(proc.pid, signal.SIGINT)                                # Ctrl+C reaches the terminal's whole group
    err = seen + proc.communicate(timeout=60)[1]
    assert "epoch 1:" in err and proc.returncode == 130 and "interrupted" in err and "Traceback" not in err
    assert not out.exists()
    assert until(lambda: not _serving(session=proc.pid), 10)


def _serving(session):
    """The worker processes of one session (the trainer's own: other runs on this machine may have theirs)."""
    ps = subprocess.run(["ps", "-eo", "sid=,args="], capture_output=True, text=True).stdout
    return [line for line in ps.splitlines()
            if line.split(None, 1)[0] == str(session) and "cnn.engine.parallel import serve" in line]
