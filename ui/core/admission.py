"""Admission control for heavy work: a few slots per server, and a first-come queue for the rest. No Streamlit here.

One server serves every visitor, so training runs, fine-tunes and evaluations of new models take a slot from a
server-wide Admission before they compute; the others wait in line, see their place, and may leave. A waiting
ticket costs a thread and nothing else; the queue itself is bounded, so a script opening hundreds of sessions is
told the server is busy instead of piling up work.
"""
import contextlib
import itertools
import threading

from cnn.engine.parallel import CORES, available_cores


class Busy(RuntimeError):
    """The queue is full: the work was not queued."""


class Admission:
    """At most `slots` tickets hold a slot at once; the others wait in first-come order (at most max_waiting)."""

    def __init__(self, slots, max_waiting, name="run"):
        self.slots, self.max_waiting, self.name = slots, max_waiting, name
        self._cond = threading.Condition()
        self._holding, self._waiting = set(), []       # tickets: plain increasing numbers
        self._numbers = itertools.count(1)

    def join(self):
        """A new ticket, at the end of the queue (it holds a slot at once when one is free); Busy when full."""
        with self._cond:
            if len(self._waiting) >= self.max_waiting:
                raise Busy(f"the server is busy: {len(self._holding)} {self.name}s are running and "
                           f"{len(self._waiting)} are waiting, the most it queues. Try again in a few minutes.")
            ticket = next(self._numbers)
            self._waiting.append(ticket)
            self._admit()
            return ticket

    def position(self, ticket):
        """0 when the ticket holds a slot, k when it is k-th in the queue, None once it has left."""
        with self._cond:
            if ticket in self._holding:
                return 0
            return self._waiting.index(ticket) + 1 if ticket in self._waiting else None

    def wait(self, ticket, timeout):
        """Wait up to `timeout` seconds for the ticket's turn; True once it holds a slot."""
        with self._cond:
            self._cond.wait_for(lambda: ticket not in self._waiting, timeout)
            return ticket in self._holding

    def leave(self, ticket):
        """Give back the ticket's slot, or its place in the queue (the next in line moves up). Idempotent."""
        with self._cond:
            self._holding.discard(ticket)
            if ticket in self._waiting:
                self._waiting.remove(ticket)
            self._admit()

    def counts(self):
        """(holding a slot, waiting)."""
        with self._cond:
            return len(self._holding), len(self._waiting)

    @contextlib.contextmanager
    def slot(self, on_wait=None, poll=0.5):
        """Hold a slot for the `with` block: join, wait for the turn (calling on_wait(position) every `poll`
        seconds meanwhile; an exception it raises leaves the queue), and leave at the end, whatever happens."""
        ticket = self.join()
        try:
            while not self.wait(ticket, poll):
                if on_wait is not None:
                    on_wait(self.position(ticket))
            yield ticket
        finally:
            self.leave(ticket)

    def _admit(self):
        while self._waiting and len(self._holding) < self.slots:
            self._holding.add(self._waiting.pop(0))
        self._cond.notify_all()


def _cores():
    return available_cores()          # the affinity, within the cgroup's CPU quota


# A training run already spreads over CORES processes (cnn/engine/parallel.py: one per core, up to 4), so two runs on
# the same cores only take turns on them, each slower and each holding its memory: one run per CORES cores
# (1 on 2 or 4 cores, 2 on 8). Fine-tunes (one process, seconds) take the same slots.
TRAINING = Admission(slots=max(1, _cores() // CORES), max_waiting=16, name="training run")
# Evaluating a new model on the 10,000 test images takes seconds on one core: a slot of their own, so the
# Evaluate page never waits behind somebody's hour of training, and half the cores at most, so drawing goes on.
EVALUATIONS = Admission(slots=max(1, _cores() // 2), max_waiting=32, name="evaluation")
