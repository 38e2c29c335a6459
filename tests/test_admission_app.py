"""Admission control through the app (AppTest, issue 12): a second session waits in the training queue, sees
its place and can leave it; a full queue is refused with a message; fine-tunes and evaluations of new models
take the server's slots too."""
import threading

import pytest
from streamlit.testing.v1 import AppTest
from test_app_learn import button, draw, open_evaluate, seven

from helpers import APP, SUBSET, TIMEOUT, number, start_training, until, wait_for_training
from ui.core import admission
from ui.state import cached


@pytest.fixture
def one_slot(monkeypatch):
    """One training slot and one place in the queue, whatever the machine's cores."""
    queue = admission.Admission(slots=1, max_waiting=1, name="training run")
    monkeypatch.setattr(admission, "TRAINING", queue)
    return queue


def long_run(at):
    number(at, "Batch size").set_value(1)
    return start_training(at, arch_text="c4p", n_train=1000, epochs=100, source=SUBSET)


def labels(at):
    return [s.label for s in at.sidebar.status]


def release_when_waiting(queue, holder, seen):
    """A thread that gives back `holder`'s slot once somebody waits for it, noting the queue's counts then."""
    def run():
        if until(lambda: queue.counts()[1] == 1, 60):
            seen.append(queue.counts())
        queue.leave(holder)
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_a_second_session_sees_its_place_in_the_queue_and_can_leave(app_env, one_slot):
    first, second, third = (AppTest.from_file(APP, default_timeout=TIMEOUT).run() for _ in range(3))
    first = long_run(first)
    assert any(label.startswith("Training c4p-1") for label in labels(first))
    second = long_run(second)
    assert until(lambda: second.session_state["job"].snapshot()["status"] == "queued", 30)
    second.run()
    assert not second.exception, second.exception
    assert any("c4p-1: waiting, number 1 in the queue" in label for label in labels(second)), labels(second)
    assert any("trains 1 model at a time" in m.value for m in second.sidebar.markdown)
    third = long_run(third)                                             # the queue holds one: refused
    assert any(e.value.startswith("**Not started:** the server is busy") for e in third.sidebar.error)
    assert "job" not in third.session_state

    next(b for b in second.sidebar.button if b.label == "Leave the queue").click().run()
    second = wait_for_training(second)
    assert not second.exception and second.session_state["job"].snapshot()["status"] == "left"
    assert any("left the queue" in i.value for i in second.sidebar.info)
    assert not next(b for b in second.sidebar.button if b.label == "Start training").disabled
    assert one_slot.counts() == (1, 0)

    next(b for b in first.sidebar.button if b.label == "Stop").click().run()
    first = wait_for_training(first)
    assert "c4p-1" in first.session_state["session_models"] and one_slot.counts() == (0, 0)


def test_a_fine_tune_waits_for_a_training_slot(app_env, one_slot):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    draw(at, seven())
    at.selectbox(key="correct_label").set_value(7).run()
    button(at, "Save drawing").click().run()
    seen = []
    release = release_when_waiting(one_slot, one_slot.join(), seen)     # somebody else's run holds the slot
    button(at, "Fine-tune on my 1 drawing").click().run()
    release.join(60)
    assert not at.exception, at.exception
    assert seen == [(1, 1)] and "finetune_pending" in at.session_state and one_slot.counts() == (0, 0)


@pytest.fixture
def one_evaluation(monkeypatch):
    queue = admission.Admission(slots=1, max_waiting=1, name="evaluation")
    monkeypatch.setattr(admission, "EVALUATIONS", queue)
    cached._evaluate.clear()                                        # computed afresh, not from another test
    return queue


def test_evaluating_a_model_waits_for_an_evaluation_slot(app_env, one_evaluation):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    seen = []
    release = release_when_waiting(one_evaluation, one_evaluation.join(), seen)
    open_evaluate(at)
    release.join(60)
    assert seen == [(1, 1)] and one_evaluation.counts() == (0, 0)
    assert {m.label for m in at.metric} >= {"Test accuracy", "Mistakes"}


def test_a_full_evaluation_queue_says_so(app_env, one_evaluation):
    held = [one_evaluation.join(), one_evaluation.join()]                # one evaluating, one waiting: full
    at = open_evaluate(AppTest.from_file(APP, default_timeout=TIMEOUT).run())
    assert any("Not evaluated now: the server is busy" in w.value for w in at.warning)
    assert "Test accuracy" not in {m.label for m in at.metric}
    for ticket in held:
        one_evaluation.leave(ticket)
