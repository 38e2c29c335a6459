"""A training run in a background thread, polled by the UI. No Streamlit here.

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

LOG = logging.getLogger(__name__)
POINTS_PER_EPOCH = 50   # running-loss points kept for the live chart, per epoch
# A run whose browser session has been gone this long stops (the tab was closed or reloaded); a shorter
# absence is a reconnect. CNN_ORPHAN_SECONDS overrides it (the browser tests use a short one).
ORPHAN_SECONDS = float(os.environ.get("CNN_ORPHAN_SECONDS", 30))


class TrainingJob:
    def __init__(self, name, model, data, config, alive=None):
        self.name, self.model, self.config = name, model, config
        self._data = data                                # (x_train, y_train, x_test, y_test)
        self._alive = alive                              # () -> bool: is the session that started it connected?
        self._gone_since = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name=f"train-{name}", daemon=True)
        self._state = {"status": "starting", "epoch": 0, "batch": 0, "n_batches": 1, "loss": None,
                       "points": [], "epochs": [], "error": None, "started": None, "finished": None}

    def start(self):
        self._state["started"] = time.monotonic()
        self._thread.start()
        return self

    def stop(self):
        """Ask the thread to stop after the current batch; the weights reached so far are kept."""
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
        return self._state["status"] in ("finished", "stopped", "failed")   # set after cnn.train returned

    def snapshot(self):
        """A consistent copy of the progress, safe to read from any thread."""
        with self._lock:
            s = dict(self._state)
            s["points"], s["epochs"] = list(s["points"]), list(s["epochs"])
        total = self.config.epochs * s["n_batches"]
        s["fraction"] = min(1.0, ((s["epoch"] - 1) * s["n_batches"] + s["batch"]) / total) if s["epoch"] else 0.0
        s["elapsed"] = (s["finished"] or time.monotonic()) - s["started"] if s["started"] else 0.0
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
        if self._orphaned():
            self.stop()
        return self._stop.is_set()

    def _orphaned(self):
        """True once the browser session has been gone for ORPHAN_SECONDS: nobody can see or stop this run."""
        if self._alive is None or self._alive():
            self._gone_since = None
            return False
        self._gone_since = self._gone_since or time.monotonic()
        return time.monotonic() - self._gone_since >= ORPHAN_SECONDS

    def _run(self):
        _lower_priority()
        with self._lock:
            self._state["status"] = "stopping" if self._stop.is_set() else "running"
        status, error = "finished", None
        try:
            cnn.train(self.model, *self._data, self.config, callback=self._callback)
            if self._stop.is_set():
                status = "stopped"
        except (cnn.DivergenceError, cnn.WorkerError) as e:
            status, error = "failed", str(e)
        except (ValueError, MemoryError) as e:
            status, error = "failed", f"training failed: {e}"
        except Exception as e:                           # never let a thread die silently
            LOG.exception("training thread failed")
            status, error = "failed", f"training failed unexpectedly ({type(e).__name__}: {e})"
        finally:
            self._data = None                            # free the arrays' references
        with self._lock:
            self._state.update(status=status, error=error, finished=time.monotonic())


def _lower_priority(niceness=10):
    """Let drawing sessions go first: on Linux a thread has its own nice value, and the engine's worker
    processes, started from this thread, inherit it."""
    with contextlib.suppress(AttributeError, OSError):     # not Linux, or not permitted: train at normal priority
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)
