"""Reliability (issue 6): concurrency and faults: saves racing saves and loads, two sessions saving under one
name, the saving process killed mid-save, a training run whose browser tab is gone."""
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np

import cnn
from cnn.files.weights import save_model
from helpers import (
    ROOT,
    SUBSET,
    new_app,
    number,
    save,
    start_training,
    wait_for_training,
)
from ui.core.jobs import TrainingJob
from ui.state import registry

# ---------------------------------------------------------------- concurrency: saves, loads, two sessions

def test_concurrent_saves_and_loads_never_see_a_broken_file(tmp_path):
    """Four threads replace one file over and over while another loads it: every load gets a whole model."""
    path = tmp_path / "shared.npz"
    models = [cnn.build_model("c8pc8", seed=s) for s in range(4)]
    first_weights = {float(m.params[0]["W"].ravel()[0]) for m in models}
    save_model(models[0], path)
    done, problems, loads = threading.Event(), [], [0]

    def writer(model):
        try:
            for _ in range(25):
                save_model(model, path)
        except Exception as e:  # noqa: BLE001 - reported below
            problems.append(e)

    def reader():
        while not done.is_set():
            try:
                model = cnn.load_model(path)
                assert float(model.params[0]["W"].ravel()[0]) in first_weights
                loads[0] += 1
            except Exception as e:  # noqa: BLE001 - reported below
                problems.append(e)

    readers = [threading.Thread(target=reader) for _ in range(2)]
    writers = [threading.Thread(target=writer, args=(m,)) for m in models]
    for t in readers + writers:
        t.start()
    for t in writers:
        t.join()
    done.set()
    for t in readers:
        t.join()
    assert not problems, problems[:3]
    assert loads[0] > 10 and not list(tmp_path.glob("*.tmp")) and list(tmp_path.iterdir()) == [path]


def test_racing_first_saves_under_one_name_leave_exactly_one_winner(tmp_path, monkeypatch):
    """Eight sessions pass the name check at the same moment; only one file is created, the others are told."""
    monkeypatch.setenv("CNN_WEIGHTS_DIR", str(tmp_path))
    start, results = threading.Barrier(8), []

    def session(seed):
        model = cnn.build_model("c2p", seed=seed)
        path = registry.check_save_name("same", set())                     # nobody has saved it yet
        start.wait()
        try:
            save_model(model, path, replace=False)
            results.append(seed)
        except FileExistsError:
            results.append(None)

    threads = [threading.Thread(target=session, args=(s,)) for s in range(8)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    winners = [s for s in results if s is not None]
    assert len(results) == 8 and len(winners) == 1
    loaded = cnn.load_model(tmp_path / "same.npz")
    np.testing.assert_array_equal(loaded.params[0]["W"], cnn.build_model("c2p", seed=winners[0]).params[0]["W"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["same.npz"]


def test_two_sessions_train_at_once_and_save_under_one_name(weights, monkeypatch):
    """Two app sessions (two AppTests, as two browser tabs) train at the same time, then both save as "shared":
    one file, complete; the second session is told and saves under another name. (AppTest scripts cannot run in
    parallel threads, so the saves are back to back; the race itself: the test above and the browser test below.)"""
    from ui.core import admission
    monkeypatch.setattr(admission, "TRAINING", admission.Admission(slots=2, max_waiting=1))   # an 8-core server
    sessions = [new_app(), new_app()]
    for at in sessions:
        number(at, "Batch size").set_value(1)                             # long runs: stopped below
    sessions = [start_training(at, arch_text="c4p", n_train=1000, epochs=100, source=SUBSET) for at in sessions]
    assert not any(at.session_state["job"].done for at in sessions)     # both train at once
    for at in sessions:                                                  # Stop keeps what each has learned
        next(b for b in at.sidebar.button if b.label == "Stop").click().run()
    sessions = [wait_for_training(at) for at in sessions]
    first, second = [save(at, "shared") for at in sessions]
    assert not first.exception and not second.exception
    assert any("Saved as weights/shared.npz" in s.value for s in first.sidebar.success)
    errors = [e.value for e in second.sidebar.error]
    assert any(e.startswith("Not saved:") and "shared.npz already exists" in e for e in errors), errors
    loaded = cnn.load_model(weights / "shared.npz")
    mine = first.session_state["session_models"]["c4p-1"]
    np.testing.assert_array_equal(loaded.params[0]["W"], mine.params[0]["W"])
    second = save(second, "shared-2")                                   # and both keep working
    assert any("Saved as weights/shared-2.npz" in s.value for s in second.sidebar.success)
    first = save(first, "shared")                                       # its own file: may be replaced
    assert any("Saved as weights/shared.npz" in s.value for s in first.sidebar.success)
    for at in (first, second):
        at.switch_page("app_pages/inside.py").run()
        assert not at.exception and at.metric[0].label == "Prediction"
    assert not [p for p in weights.iterdir() if p.name.endswith(".tmp")]


# ---------------------------------------------------------------- faults: a killed save, an abandoned run

KILLED_SAVER = """
import os, sys, time
import cnn
from cnn.files.weights import save_model
path, mode = sys.argv[1:]
models = [cnn.build_model("c32pc64pd256", seed=s) for s in range(2)]
save_model(models[0], path)
if mode == "stall":              # stop for good between writing the temporary file and renaming it
    os.replace = lambda *args: (print("stalled", flush=True), time.sleep(60))
print("ready", flush=True)
i = 1
while True:                      # save as fast as it can until killed
    save_model(models[i % 2], path)
    i += 1
"""


def kill_saver(target, mode, delay=0.0):
    proc = subprocess.Popen([sys.executable, "-c", KILLED_SAVER, str(target), mode], cwd=ROOT,
                            stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert proc.stdout.readline().strip() == b"ready"
        if mode == "stall":
            assert proc.stdout.readline().strip() == b"stalled"
        time.sleep(delay)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()


def test_a_server_killed_during_saves_leaves_a_whole_file_and_the_app_ignores_leftovers(weights):
    """SIGKILL the process that saves (as the app's server does) in the middle of a save: once exactly between
    writing the temporary file and renaming it, then at random moments while it saves a ~2 MB model over and
    over. The file is always one complete model, and leftover temporary files are never listed by the app."""
    target = weights / "killed.npz"
    kill_saver(target, "stall")
    assert cnn.load_model(target).params[0]["W"].ravel()[0] == cnn.build_model("c32pc64pd256").params[0]["W"].ravel()[0]
    assert len(list(weights.glob(".killed.npz.*.tmp"))) == 1            # the stalled save's whole temporary file
    for delay in np.random.default_rng(0).uniform(0.02, 0.3, size=3):
        kill_saver(target, "loop", delay)
        assert cnn.load_model(target).arch == "c32pc64pd256"
    print(f"temporary files left by 4 kills: {len(list(weights.glob('.killed.npz.*.tmp')))}")
    assert set(registry.weight_files()) == {"default", "c8p", "killed"}    # leftovers are never listed
    at = new_app()
    assert not at.exception
    assert [o.split(" ")[0] for o in at.selectbox(key="model_picker_draw").options] == ["default", "c8p", "killed"]


def test_a_training_run_whose_tab_is_gone_stops_by_itself(monkeypatch):
    """Closing (or reloading) the tab drops the session, not its training thread: the run notices the session
    is gone and stops after ORPHAN_SECONDS, keeping what it learned, so abandoned runs do not eat the CPU."""
    from cnn.files.mnist import load_subset
    monkeypatch.setattr("ui.core.jobs.ORPHAN_SECONDS", 0.3)
    connected = threading.Event()
    connected.set()
    x_train, y_train, x_test, y_test = load_subset()
    config = cnn.TrainConfig(epochs=100, n_train=1000, batch_size=1)
    job = TrainingJob("t", cnn.build_model("c4p"), (x_train, y_train, x_test[:100], y_test[:100]), config,
                      alive=connected.is_set).start()
    time.sleep(0.5)
    assert not job.done                                    # connected: keeps training
    connected.clear()                                      # the tab is closed
    assert job.wait(timeout=10) and job.snapshot()["status"] == "stopped"
    assert len(job.model.history) < 100 and job.model.history[-1]["complete"] is False
