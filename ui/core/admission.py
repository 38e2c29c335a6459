"""Admission control for heavy work: a few slots per machine, and a queue for the rest. No Streamlit here.

Training runs, fine-tunes and evaluations of new models take a slot from an Admission before they compute; the
others wait in line, see their place, and may leave. The queue is bounded, so a script opening hundreds of sessions
is told the server is busy instead of piling up work. For fairness (issue 20) a ticket may name its owners (a
visitor, a client address): each owner holds at most one ticket, queued or running; the queue is ordered by cost
(image passes), the cheapest first, then first come; and a run that has held its slot for a time slice while
others wait is asked to give way (should_yield).

With `lock_dir`, the slots are lock files in that folder (ui/core/locks.py), shared by every app process of the
machine that uses the same data folder, and so are the owners' tickets: the counts hold across processes. The
order of the queue holds within a process; across processes a freed slot goes to the first to ask (every 0.2 s).
"""
import bisect
import contextlib
import hashlib
import itertools
import logging
import os
import threading
import time
from pathlib import Path

from cnn.engine.parallel import CORES, available_cores
from ui.core import locks
from ui.core.store import data_dir

LOG = logging.getLogger(__name__)
POLL = 0.2                       # how often a waiter looks for a slot another process freed
YIELD_CHECK = 1.0                # should_yield looks at other processes' waiters at most this often


BUMPED = ("the server's queue filled up with smaller runs, which go first, and this one lost its place. Try again "
          "in a few minutes, or with fewer epochs or training images")


class Busy(RuntimeError):
    """The work was not queued: the queue is full, or its owner already has a ticket."""


class Admission:
    """At most `slots` tickets hold a slot at once; the others wait, cheapest first (at most max_waiting)."""

    def __init__(self, slots, max_waiting, name="run", lock_dir=None):
        self.slots, self.max_waiting, self.name = slots, max_waiting, name
        self._lock_dir = lock_dir                      # None, or () -> the shared folder of the slots' lock files
        self._cond = threading.Condition()
        self._holding, self._waiting = {}, []          # ticket -> (slot fd, since); sorted [(cost, ticket)]
        self._owned = {}                               # ticket -> [(owner, fd or None, path or None)]
        self._marks = {}                               # waiting ticket -> (fd, path) of its marker for others
        self._numbers = itertools.count(1)
        self._others = (0.0, False)                    # (when looked, did another process have waiters)

    def join(self, owners=(), cost=0):
        """A new ticket in the queue (it holds a slot at once when one is free); Busy when the queue is full of runs
        that cost no more, or when one of `owners` (strings: a visitor, an address) already holds a ticket, here or
        in another process. A cheaper ticket takes a full queue's last place: that ticket's position becomes None."""
        with self._cond:
            if len(self._waiting) >= self.max_waiting and not (self._waiting and cost < self._waiting[-1][0]):
                raise Busy(f"the server is busy: {len(self._holding)} {self.name}s are running and "
                           f"{len(self._waiting)} are waiting, the most it queues. Try again in a few minutes.")
            ticket = next(self._numbers)
            self._owned[ticket] = []
            for owner in owners:
                if not self._own(ticket, owner):
                    self._release_owners(ticket)
                    raise Busy(f"you already have a {self.name} or fine-tune queued or running (one at a time for "
                               "each visitor and each address). Stop it, or wait for it to end, then try again.")
            if len(self._waiting) >= self.max_waiting:        # full, and this one is cheaper than the last:
                _, bumped = self._waiting.pop()                # the costliest (the latest of those) leaves
                self._unmark(bumped)
                self._release_owners(bumped)
            bisect.insort(self._waiting, (cost, ticket))
            if (folder := self._folder()) is not None:
                path = folder / f"wait-{locks.PROCESS}-{ticket}.lock"
                self._marks[ticket] = (locks.try_lock(path), path)
            self._admit()
            return ticket

    def position(self, ticket):
        """0 when the ticket holds a slot, k when it is k-th in the queue, None once it has left."""
        with self._cond:
            if ticket in self._holding:
                return 0
            return next((k for k, (_, t) in enumerate(self._waiting, 1) if t == ticket), None)

    def wait(self, ticket, timeout):
        """Wait up to `timeout` seconds for the ticket's turn; True once it holds a slot."""
        end = time.monotonic() + timeout
        with self._cond:
            while self._is_waiting(ticket) and (left := end - time.monotonic()) > 0:
                self._cond.wait(min(left, POLL))
                self._admit()                          # a slot freed by another process
            return ticket in self._holding

    def leave(self, ticket):
        """Give back the ticket's slot, or its place in the queue (the next in line moves up). Idempotent."""
        with self._cond:
            fd, _ = self._holding.pop(ticket, (None, 0))
            locks.release(fd)
            self._waiting = [w for w in self._waiting if w[1] != ticket]
            self._unmark(ticket)
            self._release_owners(ticket)
            self._admit()
            self._cond.notify_all()                    # the places behind it moved up

    def counts(self):
        """(holding a slot, waiting) in this process."""
        with self._cond:
            return len(self._holding), len(self._waiting)

    def should_yield(self, ticket, after_s):
        """True when the ticket has held its slot for `after_s` seconds and another ticket waits (in any process)."""
        with self._cond:
            since = self._holding.get(ticket, (None, None))[1]
            if since is None or time.monotonic() - since < after_s:
                return False
            if self._waiting:
                return True
        return self._others_wait()

    @contextlib.contextmanager
    def slot(self, on_wait=None, poll=0.5, owners=(), cost=0):
        """Hold a slot for the `with` block: join, wait for the turn (calling on_wait(position) every `poll`
        seconds meanwhile; an exception it raises leaves the queue), and leave at the end, whatever happens."""
        ticket = self.join(owners, cost)
        try:
            while not self.wait(ticket, poll):
                if self.position(ticket) is None:
                    raise Busy(BUMPED)
                if on_wait is not None:
                    on_wait(self.position(ticket))
            yield ticket
        finally:
            self.leave(ticket)

    # ------------------------------------------------------------------------------------------------ inside

    def _folder(self):
        if self._lock_dir is None:
            return None
        try:
            folder = Path(self._lock_dir())
            folder.mkdir(parents=True, exist_ok=True)
            return folder
        except (OSError, RuntimeError) as e:           # no data folder: slots in this process only
            LOG.warning("%s slots are not shared between processes: %s", self.name, e)
            return None

    def _is_waiting(self, ticket):
        return any(t == ticket for _, t in self._waiting)

    def _own(self, ticket, owner):
        folder = self._folder()
        if folder is None:
            taken = any(o == owner for held in self._owned.values() for o, _, _ in held)
            fd, path = None, None
        else:
            path = folder / f"owner-{hashlib.sha256(owner.encode()).hexdigest()[:32]}.lock"
            fd = locks.try_lock(path)
            taken = fd is None
        if not taken:
            self._owned[ticket].append((owner, fd, path))
        return not taken

    def _release_owners(self, ticket):
        for _, fd, path in self._owned.pop(ticket, []):
            locks.release(fd, path)

    def _unmark(self, ticket):
        fd, path = self._marks.pop(ticket, (None, None))
        locks.release(fd, path)

    def _admit(self):
        folder = self._folder() if self._waiting else None
        while self._waiting and len(self._holding) < self.slots:
            fd = None
            if folder is not None:
                fd = next(filter(None, (locks.try_lock(folder / f"slot-{i}.lock") for i in range(self.slots))), None)
                if fd is None:
                    break                              # every slot of the machine is held by some process
            _, ticket = self._waiting.pop(0)
            self._unmark(ticket)
            self._holding[ticket] = (fd, time.monotonic())
            self._cond.notify_all()                    # only on a change: waiters polling must not wake each other

    def _others_wait(self):
        now = time.monotonic()
        if now - self._others[0] >= YIELD_CHECK:
            folder = self._folder()
            mine = f"wait-{locks.PROCESS}-"
            others = folder is not None and any(locks.held(p) for p in folder.glob("wait-*.lock")
                                                if not p.name.startswith(mine))
            self._others = (now, others)
        return self._others[1]


def _cores():
    return available_cores()          # the affinity, within the cgroup's CPU quota


def _env(name, default):
    return float(os.environ.get(name) or default)


def max_images():
    """Public mode's cap on a training run's size: epochs x training images (CNN_MAX_TRAIN_IMAGES)."""
    return int(_env("CNN_MAX_TRAIN_IMAGES", 300_000))


def slice_seconds():
    """Public mode: a run that has trained this long ends, keeping its weights, when others wait
    (CNN_TRAIN_SLICE_SECONDS)."""
    return _env("CNN_TRAIN_SLICE_SECONDS", 60)


def _training_locks():
    return data_dir() / "locks" / "training"


# A training run already spreads over CORES processes (cnn/engine/parallel.py: one per core, up to 4), so two runs on
# the same cores only take turns on them, each slower and each holding its memory: one run per CORES cores
# (1 on 2 or 4 cores, 2 on 8) on the machine, whichever app process runs it. Fine-tunes take the same slots.
TRAINING = Admission(slots=max(1, _cores() // CORES), max_waiting=16, name="training run", lock_dir=_training_locks)
# Evaluating a new model on the 10,000 test images takes seconds on one core: a slot of their own, so the
# Evaluate page never waits behind somebody's hour of training, and half the cores at most, so drawing goes on.
EVALUATIONS = Admission(slots=max(1, _cores() // 2), max_waiting=32, name="evaluation")
