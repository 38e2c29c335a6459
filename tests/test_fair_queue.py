"""A fair training queue (issue 20): one run or fine-tune per visitor and per address, the cheapest runs first, a
cheaper run taking a full queue's last place, a long run giving way when others wait (keeping its weights), a cap on
a public run's size, and slots and owners that hold across the app processes of one machine (lock files)."""
import subprocess
import sys
import textwrap

import pytest
from streamlit.testing.v1 import AppTest
from test_app_learn import button, draw, seven

import cnn
from cnn.files.mnist import load_subset
from helpers import APP, ROOT, SUBSET, TIMEOUT, number, start_training, until
from ui.core import admission
from ui.core.admission import Admission, Busy
from ui.core.jobs import TrainingJob


def test_one_ticket_per_owner_until_it_leaves():
    queue = Admission(slots=1, max_waiting=10, name="training run")
    first = queue.join(("visitor:a", "address:1.2.3.4"))
    for owners in [("visitor:a", "address:5.6.7.8"), ("visitor:b", "address:1.2.3.4")]:
        with pytest.raises(Busy, match="you already have a training run or fine-tune queued or running"):
            queue.join(owners)
    other = queue.join(("visitor:b", "address:5.6.7.8"))
    assert queue.counts() == (1, 1)                             # a refusal took no place
    queue.leave(first)
    assert queue.position(other) == 0 and queue.position(queue.join(("visitor:a", "address:1.2.3.4"))) == 1


def test_the_cheapest_waiting_run_goes_first_and_takes_a_full_queues_last_place():
    queue = Admission(slots=1, max_waiting=2)
    running, big, bigger = queue.join(cost=10), queue.join(cost=500), queue.join(cost=900)
    with pytest.raises(Busy, match="the server is busy"):
        queue.join(cost=900)                                    # full, and no cheaper than the last
    small = queue.join(cost=5)
    assert [queue.position(t) for t in (running, small, big, bigger)] == [0, 1, 2, None]   # bigger lost its place
    queue.leave(running)
    assert queue.position(small) == 0


def test_a_long_run_gives_way_when_somebody_waits_and_keeps_its_weights():
    data = load_subset()
    queue = Admission(slots=1, max_waiting=10)
    config = cnn.TrainConfig(epochs=100, n_train=1000, batch_size=10)
    long = TrainingJob("long", cnn.build_model("c4p"), data, config, admission=queue, slice_s=0.0).start()
    assert until(lambda: long.snapshot()["epoch"] >= 2, 60)   # alone, it goes on past its slice
    assert not long.done
    small = TrainingJob("small", cnn.build_model("c4p"), data, cnn.TrainConfig(epochs=1, n_train=100),
                        admission=queue).start()
    assert long.wait(60) and long.snapshot()["status"] == "stopped" and long.snapshot()["gave_way"]
    assert long.model.history                                  # what it learned is kept
    assert small.wait(60) and small.snapshot()["status"] == "finished"


def test_slots_and_owners_hold_across_processes(tmp_path):
    """Another process holds the machine's one slot and an owner's ticket; here they wait or are refused, and
    once it is killed both are free (the kernel drops its locks)."""
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from ui.core.admission import Admission
        queue = Admission(slots=1, max_waiting=4, lock_dir=lambda: {str(tmp_path)!r})
        queue.join(("visitor:a",))
        print("holding", flush=True)
        time.sleep(600)
    """)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        queue = Admission(slots=1, max_waiting=4, lock_dir=lambda: tmp_path)
        with pytest.raises(Busy, match="you already have"):
            queue.join(("visitor:a",))
        mine = queue.join(("visitor:b",))
        assert not queue.wait(mine, 0.5) and queue.position(mine) == 1     # the other process's slot
    finally:
        holder.kill()
        holder.wait()
    assert queue.wait(mine, 30)
    assert queue.position(queue.join(("visitor:a",))) == 1


@pytest.fixture
def public_one_slot(app_env, monkeypatch):
    monkeypatch.setenv("CNN_PUBLIC", "1")
    queue = admission.Admission(slots=1, max_waiting=4, name="training run")
    monkeypatch.setattr(admission, "TRAINING", queue)
    return queue


def test_public_mode_caps_a_runs_size(public_one_slot, monkeypatch):
    monkeypatch.setenv("CNN_MAX_TRAIN_IMAGES", "1500")
    at = start_training(AppTest.from_file(APP, default_timeout=TIMEOUT).run(), arch_text="c4p", n_train=1000,
                        epochs=2, source=SUBSET)
    assert any("trains at most 1,500 images per run" in e.value for e in at.sidebar.error), at.sidebar.error
    assert "job" not in at.session_state and public_one_slot.counts() == (0, 0)


def test_a_visitor_training_cannot_also_queue_a_fine_tune(public_one_slot):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    number(at, "Batch size").set_value(1)
    at = start_training(at, arch_text="c4p", n_train=1000, epochs=100, source=SUBSET)
    assert public_one_slot.counts() == (1, 0)
    draw(at, seven())
    at.selectbox(key="correct_label").set_value(7).run()
    button(at, "Save drawing").click().run()
    button(at, "Fine-tune on my 1 drawing").click().run()
    assert not at.exception, at.exception
    assert any("you already have a training run or fine-tune queued or running" in e.value for e in at.error)
    assert public_one_slot.counts() == (1, 0)
    next(b for b in at.sidebar.button if b.label == "Stop").click().run()
    assert until(lambda: at.session_state["job"].done, 30)


@pytest.mark.parametrize("trusted", [False, True])
def test_an_address_keys_a_run_only_when_it_says_who_the_client_is(monkeypatch, trusted):
    from ui.state import client
    monkeypatch.setenv("CNN_TRUST_PROXY", "1" if trusted else "")
    headers = {"X-Real-Ip": "8.8.4.4", "X-Forwarded-For": "1.1.1.1, 8.8.4.4", "X-Cnn-Visitor": "ab" * 16}
    monkeypatch.setattr(client, "_headers", lambda: headers)
    for peer in ["127.0.0.1", "10.1.2.3", "8.8.8.8"]:          # the connection's other end, as Streamlit gives it
        monkeypatch.setattr(client.st, "context", type("Context", (), {"ip_address": peer}))
        keys = client.owners("s-1")
        if trusted:                                           # the proxy's X-Real-IP, never a client's XFF hop
            assert keys == ("visitor:s-1", "address:8.8.4.4")
        else:                                                 # headers ignored; a shared private peer keys nothing
            assert keys == ("visitor:s-1",) + (("address:8.8.8.8",) if peer == "8.8.8.8" else ())
    assert (client.proxy_visitor() is not None) == trusted
