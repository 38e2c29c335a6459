"""A training run in a background thread, polled by the UI: it waits its turn for a slot, trains, and frees the
slot. No Streamlit here.

The thread owns the model until it finishes; the UI only reads snapshot() and may call stop().
Running in a thread keeps the session's page responsive (a Stop click reruns the script while the
thread keeps going) and lets other browser sessions carry on while one session trains.
"""
import contextlib
import logging
import os
import threading
import time

import cnn
from ui.core.admission import BUMPED

LOG = logging.getLogger(__name__)
POINTS_PER_EPOCH = 50   # running-loss points kept for the live chart, per epoch
# When the browser session that started a run is gone (the tab was closed, or the connection dropped), the run
# pauses at its next check, within a fraction of a second: a closed tab costs no CPU. If the session comes back
# (Streamlit reconnects a dropped connection to the same session) the run carries on; after ORPHAN_SECONDS it
# stops, keeping what it learned, and frees its slot. CNN_ORPHAN_SECONDS overrides it (the browser tests use 1).
ORPHAN_SECONDS = float(os.environ.get("CNN_ORPHAN_SECONDS", "10"))
DONE = ("finished", "stopped", "failed", "left")


class TrainingJob:
    def __init__(self, name, model, data, config, alive=None, admission=None, owners=(), slice_s=None):
        self.name, self.model, self.config = name, model, config
        self._owners, self._slice_s = owners, slice_s    # who queues it (one ticket each); give way after slice_s
        self._data = data                                # (x_train, y_train, x_test, y_test)
        self._alive = alive                              # () -> bool: is the session that started it connected?
        self.recorder = None                             # optional callable(event), e.g. cnn.teach.snapshots.Snapshots
        self._admission, self._ticket = admission, None  # ui.core.admission.Admission: the server's training slots
        self._gone_since = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=f"train-{name}", daemon=True)
        self._state = {"status": "starting", "epoch": 0, "batch": 0, "n_batches": 1, "loss": None,
                       "points": [], "epochs": [], "error": None, "started": None, "finished": None,
                       "gave_way": False}

    def start(self):
        """Queue for a slot, the cheapest runs first (ui.core.admission.Busy when the queue is full or an owner
        already has a run queued or running) and start the thread."""
        if self._admission is not None:
            self._ticket = self._admission.join(self._owners, cost=self.config.epochs * self.config.n_train)
        self._state["started"] = time.monotonic()
        self._thread.start()
        return self

    def stop(self):
        """Stop within a part of a batch, keeping the weights reached so far; or leave the queue (within 0.2 s)."""
        self._stop.set()
        with self._lock:
            if self._state["status"] == "running":
                self._state["status"] = "stopping"

    def wait(self, timeout):
        """Wait up to `timeout` seconds for the thread to end; True when it has."""
        self._thread.join(timeout)
        return self.done

    @property
    def done(self):
        return self._state["status"] in DONE             # set once the thread has nothing left to do

    def snapshot(self):
        """A consistent copy of the progress, safe to read from any thread."""
        with self._lock:
            s = dict(self._state)
            s["points"], s["epochs"] = list(s["points"]), list(s["epochs"])
        total = self.config.epochs * s["n_batches"]
        s["fraction"] = min(1.0, ((s["epoch"] - 1) * s["n_batches"] + s["batch"]) / total) if s["epoch"] else 0.0
        s["elapsed"] = (s["finished"] or time.monotonic()) - s["started"] if s["started"] else 0.0
        s["position"] = self._admission.position(self._ticket) if s["status"] == "queued" else 0
        return s

    def _callback(self, event):
        with self._lock:
            if event["kind"] == "batch":
                n = event["n_batches"]
                self._state.update(epoch=event["epoch"], batch=event["batch"], n_batches=n, loss=event["loss"])
                if event["batch"] % max(1, n // POINTS_PER_EPOCH) == 0 or event["batch"] == n:
                    self._state["points"].append((event["epoch"] - 1 + event["batch"] / n, event["loss"]))
            else:
                self._state["epochs"].append({k: v for k, v in event.items() if k != "kind"})
        if self.recorder is not None:
            self.recorder(event)
        return self._should_stop()

    def _should_stop(self):
        """True once Stop was pressed, the session has been gone ORPHAN_SECONDS, or the run has had its time slice
        while others wait (it gives way, keeping its weights); while the session is gone, wait here."""
        if self._slice_s is not None and not self._stop.is_set() and \
                self._admission.should_yield(self._ticket, self._slice_s):
            with self._lock:
                self._state["gave_way"] = True
            self.stop()
        while not self._stop.is_set() and (gone := self._gone_for()) is not None:
            if gone >= ORPHAN_SECONDS:
                self.stop()
            else:
                self._stop.wait(0.1)
        return self._stop.is_set()

    def _gone_for(self):
        """Seconds since the browser session that started this run went away; None while it is connected."""
        if self._alive is None or self._alive():
            self._gone_since = None
            return None
        self._gone_since = self._gone_since or time.monotonic()
        return time.monotonic() - self._gone_since

    def _wait_turn(self):
        """Wait in the queue for a slot; False when Stop was pressed or the session has been gone ORPHAN_SECONDS."""
        with self._lock:
            self._state["status"] = "queued"
        while not self._admission.wait(self._ticket, 0.2):
            if self._admission.position(self._ticket) is None:      # a cheaper run took its place in a full queue
                with self._lock:
                    self._state["error"] = BUMPED
                return False
            if self._stop.is_set() or (self._gone_for() or 0) >= ORPHAN_SECONDS:
                return False
        return True

    def _run(self):
        _lower_priority()
        try:
            if self._admission is not None and not self._wait_turn():
                status, error = "left", self._state["error"]
            else:
                status, error = self._train()
        finally:
            self._data = None                            # free the arrays' references
            if self._admission is not None:
                self._admission.leave(self._ticket)      # the slot, or the place in the queue
        with self._lock:
            self._state.update(status=status, error=error, finished=time.monotonic())

    def _train(self):
        """-> (status, error message or None)."""
        with self._lock:
            self._state["status"] = "stopping" if self._stop.is_set() else "running"
        try:
            cnn.train(self.model, *self._data, self.config, callback=self._callback, stop=self._should_stop)
            return ("stopped" if self._stop.is_set() else "finished"), None
        except (cnn.DivergenceError, cnn.WorkerError) as e:
            return "failed", str(e)
        except (ValueError, MemoryError) as e:
            return "failed", f"training failed: {e}"
        except Exception as e:                           # never let a thread die silently
            LOG.exception("training thread failed")
            return "failed", f"training failed unexpectedly ({type(e).__name__}: {e})"


def _lower_priority(by=10):
    """Let drawing sessions go first: on Linux a thread has its own nice value, and the engine's worker
    processes, started from this thread, inherit it. Relative to the server's, so that a server started with
    `nice` still trains below its drawing sessions."""
    with contextlib.suppress(AttributeError, OSError):     # not Linux, or not permitted: train at normal priority
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + by))
