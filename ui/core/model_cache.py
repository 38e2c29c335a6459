"""Models loaded from weights files, shared by every session (never mutate them). No Streamlit here.

Bounded by the bytes of the models' weights, not by their number: the least recently used go first. A file
that failed to load is remembered with its stamp (size, modification time, inode) and its message, and is not
read again until it changes.
"""
import os
import threading
from collections import OrderedDict

import cnn

MAX_FAILED = 1024          # failed files remembered (their stamps and messages only)


def model_bytes(model):
    return sum(p[k].nbytes for p in model.params for k in p)


class ModelCache:
    def __init__(self, max_bytes):
        self.max_bytes = max_bytes
        self._models = OrderedDict()     # path -> (stamp, model, bytes), least recently used first
        self._failed = OrderedDict()     # path -> (stamp, message)
        self._lock = threading.Lock()
        self.loads = 0                   # files read so far (for tests)

    @property
    def bytes(self):
        with self._lock:
            return sum(b for _, _, b in self._models.values())

    def get(self, path, name=None):
        """The Model in `path`; cnn.WeightsError (also for a failed file not changed since), OSError."""
        path = str(path)
        st = os.stat(path)
        stamp = (st.st_size, st.st_mtime_ns, st.st_ino)
        with self._lock:
            hit = self._models.get(path)
            if hit and hit[0] == stamp:
                self._models.move_to_end(path)
                return hit[1]
            failed = self._failed.get(path)
            if failed and failed[0] == stamp:
                raise cnn.WeightsError(failed[1])
        self.loads += 1
        try:
            model = cnn.load_model(path, name=name)
        except cnn.WeightsError as e:
            self._remember_failure(path, stamp, str(e))
            raise
        self._keep(path, stamp, model)
        return model

    def _remember_failure(self, path, stamp, message):
        with self._lock:
            self._models.pop(path, None)
            self._failed[path] = (stamp, message)
            while len(self._failed) > MAX_FAILED:
                self._failed.popitem(last=False)

    def _keep(self, path, stamp, model):
        """Cache the model, then drop the least recently used until the total fits (the newest always stays)."""
        with self._lock:
            self._failed.pop(path, None)
            self._models[path] = (stamp, model, model_bytes(model))
            self._models.move_to_end(path)
            total = sum(b for _, _, b in self._models.values())
            while total > self.max_bytes and len(self._models) > 1:
                _, (_, _, b) = self._models.popitem(last=False)
                total -= b
