"""Admission control (issue 12): the server-wide queue of heavy work (ui/core/admission.py), training jobs that wait
their turn in it (ui/core/jobs.py), and a Stop that takes effect inside a batch and inside the test pass (cnn.train)."""
import threading

import numpy as np
import pytest

import cnn
from cnn.engine.training import STOP_CHECK_IMAGES, TEST_CHUNK
from cnn.files.mnist import load_subset
from helpers import until
from ui.core.admission import Admission, Busy
from ui.core.jobs import TrainingJob


def test_k_slots_then_first_come_first_served():
    queue = Admission(slots=2, max_waiting=10)
    a, b, c, d = (queue.join() for _ in range(4))
    assert [queue.position(t) for t in (a, b, c, d)] == [0, 0, 1, 2] and queue.counts() == (2, 2)
    queue.leave(b)                                              # a run ends: the first in line takes its slot
    assert [queue.position(t) for t in (a, b, c, d)] == [0, None, 0, 1]
    queue.leave(b)                                              # leaving twice changes nothing
    assert queue.counts() == (2, 1)


def test_leaving_the_queue_moves_those_behind_up():
    queue = Admission(slots=1, max_waiting=10)
    running, first, second, third = (queue.join() for _ in range(4))
    queue.leave(second)
    assert [queue.position(t) for t in (running, first, second, third)] == [0, 1, None, 2]
    queue.leave(running)
    assert [queue.position(t) for t in (first, third)] == [0, 1]


def test_a_full_queue_refuses_with_a_message():
    queue = Admission(slots=1, max_waiting=2, name="training run")
    tickets = [queue.join() for _ in range(3)]
    with pytest.raises(Busy, match="1 training runs are running and 2 are waiting"):
        queue.join()
    queue.leave(tickets[1])
    assert queue.position(queue.join()) == 2                   # a place freed: taken again


def test_a_waiting_thread_starts_when_a_slot_frees():
    queue = Admission(slots=1, max_waiting=10)
    holder, waiter = queue.join(), queue.join()
    assert not queue.wait(waiter, 0.05)
    admitted = []
    thread = threading.Thread(target=lambda: admitted.append(queue.wait(waiter, 30)))
    thread.start()
    queue.leave(holder)
    thread.join(30)
    assert admitted == [True] and queue.position(waiter) == 0


def test_slot_reports_the_place_while_waiting_and_always_leaves():
    queue = Admission(slots=1, max_waiting=10)
    holder = queue.join()
    places = []

    def on_wait(position):                                       # the first report frees the slot
        places.append(position)
        queue.leave(holder)
    with queue.slot(on_wait=on_wait, poll=0.01) as ticket:
        assert queue.position(ticket) == 0
    assert places == [1] and queue.counts() == (0, 0)           # and the block's end gave it back
    holder = queue.join()

    def leave(position):                                         # an exception (a rerun, a closed session) leaves
        raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt), queue.slot(on_wait=leave, poll=0.01):
        pytest.fail("entered without a slot")
    assert queue.counts() == (1, 0)


# ---------------------------------------------------------------- training jobs in the queue

@pytest.fixture
def data():
    x_train, y_train, x_test, y_test = load_subset()
    return x_train, y_train, x_test[:100], y_test[:100]


def job(data, queue, epochs=100, batch_size=1, alive=None, name="j"):
    config = cnn.TrainConfig(epochs=epochs, n_train=1000, batch_size=batch_size)
    return TrainingJob(name, cnn.build_model("c4p"), data, config, alive=alive, admission=queue).start()


def test_a_second_run_waits_its_turn_and_can_leave(data):
    queue = Admission(slots=1, max_waiting=10)
    first, second, third = job(data, queue), job(data, queue), job(data, queue)
    assert until(lambda: first.snapshot()["status"] == "running", 30)
    assert [j.snapshot()["position"] for j in (second, third)] == [1, 2]
    assert second.snapshot()["status"] == "queued" and not second.done
    second.stop()                                                # "Leave the queue"
    assert second.wait(timeout=10) and second.snapshot()["status"] == "left" and not second.model.history
    assert third.snapshot()["position"] == 1
    first.stop()
    assert first.wait(timeout=30) and first.snapshot()["status"] == "stopped"
    assert until(lambda: third.snapshot()["status"] == "running", 30)
    third.stop()
    assert third.wait(timeout=30) and queue.counts() == (0, 0)


@pytest.mark.parametrize("ending", ["finished", "failed", "stopped"])
def test_a_run_that_ends_in_any_way_frees_its_slot(data, ending):
    queue = Admission(slots=1, max_waiting=10)
    x_train, y_train, x_test, y_test = data
    if ending == "failed":
        y_train = np.where(np.arange(len(y_train)) == 7, 10, y_train)      # a label that is no digit: refused
    first = job((x_train, y_train, x_test, y_test), queue, epochs=1 if ending == "finished" else 100, batch_size=10)
    second = job(data, queue)
    if ending == "stopped":
        assert until(lambda: first.snapshot()["status"] == "running", 30)
        first.stop()
    assert first.wait(timeout=60) and first.snapshot()["status"] == ending
    assert until(lambda: second.snapshot()["status"] == "running", 30)
    second.stop()
    assert second.wait(timeout=30) and queue.counts() == (0, 0)


def test_a_dead_session_frees_its_slot_and_its_place(data, monkeypatch):
    monkeypatch.setattr("ui.core.jobs.ORPHAN_SECONDS", 0.3)
    queue = Admission(slots=1, max_waiting=10)
    holder_alive, waiter_alive = threading.Event(), threading.Event()
    holder_alive.set()
    holder = job(data, queue, alive=holder_alive.is_set, name="holder")
    waiter = job(data, queue, alive=waiter_alive.is_set, name="waiter")     # its tab is already closed
    last = job(data, queue, name="last")
    assert waiter.wait(timeout=10) and waiter.snapshot()["status"] == "left"
    assert last.snapshot()["position"] == 1
    assert until(lambda: holder.snapshot()["batch"] > 0, 30)
    holder_alive.clear()                                                    # the holder's tab is closed
    assert holder.wait(timeout=10) and holder.snapshot()["status"] == "stopped"
    assert until(lambda: last.snapshot()["status"] == "running", 30)
    last.stop()
    assert last.wait(timeout=30)


def test_a_run_pauses_while_its_session_is_gone_and_carries_on_when_it_returns(data, monkeypatch):
    monkeypatch.setattr("ui.core.jobs.ORPHAN_SECONDS", 60)
    connected = threading.Event()
    connected.set()
    run = job(data, None, alive=connected.is_set)
    assert until(lambda: run.snapshot()["batch"] > 0, 30)
    connected.clear()                                            # the connection drops
    assert until(lambda: _paused(run), 10)
    connected.set()                                              # and comes back: training goes on
    before = run.snapshot()["batch"] + (run.snapshot()["epoch"] - 1) * 1000
    assert until(lambda: run.snapshot()["batch"] + (run.snapshot()["epoch"] - 1) * 1000 > before + 5, 30)
    assert run.snapshot()["status"] == "running"
    run.stop()
    assert run.wait(timeout=30)


def _paused(run):
    """No batch finished in 0.5 s (a c4p batch of one image takes well under a millisecond)."""
    first = run.snapshot()["batch"]
    threading.Event().wait(0.5)
    return run.snapshot()["batch"] == first


# ---------------------------------------------------------------- Stop inside a batch and inside the test pass

def counting_stop(after):
    """A stop() that says stop from its `after`-th call on; .calls counts them."""
    def stop():
        stop.calls += 1
        return stop.calls >= after
    stop.calls = 0
    return stop


def test_stop_inside_the_first_batch_drops_it_and_records_nothing(data):
    model = cnn.build_model("c8p")
    before = model.get_weights()
    events = []
    config = cnn.TrainConfig(epochs=5, n_train=1000, batch_size=512)
    history = cnn.train(model, *data, config, callback=events.append, stop=counting_stop(2))
    assert history == [] and events == []                       # stopped before the batch's third part
    for w, b in zip(model.get_weights(), before, strict=True):
        for k in b:
            np.testing.assert_array_equal(w[k], b[k])


def test_stop_pressed_during_a_batch_drops_it_and_tests_one_chunk():
    """Stop pressed while the second of many 512-image batches is computed: that batch ends at its next check,
    the epoch is recorded as partial, and its test figures come from the first TEST_CHUNK test images only."""
    x_train, y_train, x_test, y_test = load_subset()
    events, pressed = [], threading.Event()

    def callback(event):
        events.append(event)
        pressed.set()                                            # pressed right after the first step
    config = cnn.TrainConfig(epochs=3, n_train=1000, batch_size=512)
    history = cnn.train(cnn.build_model("c8p"), x_train, y_train, x_test, y_test, config, callback=callback,
                        stop=pressed.is_set)
    assert STOP_CHECK_IMAGES < 512 and [e["kind"] for e in events] == ["batch", "epoch"]
    assert len(history) == 1 and history[0]["complete"] is False
    assert history[0]["test_images"] == TEST_CHUNK < len(x_test)


def test_stop_during_the_test_pass_ends_it_and_the_run():
    x_train, y_train, x_test, y_test = load_subset()
    config = cnn.TrainConfig(epochs=2, n_train=64, batch_size=64)    # one step: no check inside it
    history = cnn.train(cnn.build_model("c4p"), x_train, y_train, x_test, y_test, config, stop=counting_stop(1))
    assert len(history) == 1 and history[0]["complete"] is True and history[0]["test_images"] == TEST_CHUNK
    complete = cnn.train(cnn.build_model("c4p"), x_train, y_train, x_test, y_test, config)
    assert [r["test_images"] for r in complete] == [len(x_test)] * 2


def test_the_app_stops_a_run_within_its_epoch(data):
    """A Stop pressed in the middle of a long epoch (1,000 steps): the run ends within a few steps of it."""
    run = job(data, None, epochs=1)
    assert until(lambda: run.snapshot()["batch"] >= 20, 30)
    pressed_at = run.snapshot()["batch"]
    run.stop()
    assert run.wait(timeout=30)
    record = run.model.history[0]
    assert record["complete"] is False and run.snapshot()["batch"] <= pressed_at + 5
