"""MNIST: find, download, verify and parse the four standard IDX files.

Each file is looked for, in this order:
  1. the ``data_dir`` argument, or else the folder named by the ``MNIST_DIR`` environment variable;
  2. the per-user cache folder (``CNN_CACHE_DIR`` if set, else ``pooch.os_cache("cnn-from-scratch")/mnist``);
  3. a download into that cache (with pooch) from ``MIRRORS``, tried in turn.
A file may be gzip-compressed (``<name>.gz``) or raw (``<name>``). Before use, every file must pass
all checks: IDX magic number, dimensions, length matching the header, and the canonical MD5 of the
decompressed bytes. A file that fails is never used: a bad file in the user's folder raises
``MnistError``; a bad file in the cache (or a bad download) is deleted and fetched again.
"""
import gzip
import hashlib
import logging
import os
import threading
import zlib
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from functools import lru_cache
from math import prod
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["MnistError", "load_mnist", "load_subset", "MIRRORS", "FILES"]


class MnistError(RuntimeError):
    """MNIST files missing, damaged or not downloadable; the message says which file and what to do."""


# key -> (file name, MD5 of the decompressed bytes, shape); from ../shared/mnist/MD5SUMS.uncompressed
FILES = {
    "x_train": ("train-images-idx3-ubyte", "6bbc9ace898e44ae57da46a324031adb", (60000, 28, 28)),
    "y_train": ("train-labels-idx1-ubyte", "a25bea736e30d166cdddb491f175f624", (60000,)),
    "x_test": ("t10k-images-idx3-ubyte", "2646ac647ad5339dbf082846283269ea", (10000, 28, 28)),
    "y_test": ("t10k-labels-idx1-ubyte", "27ae3e4e09519cfbb04c329615203637", (10000,)),
}
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
SUBSET_PATH = Path(__file__).resolve().with_name("mnist_subset.npz")   # shipped with the engine
ADVICE = ("Delete or replace this file: re-download it (delete it and run again), "
          "or set MNIST_DIR to a folder holding the canonical MNIST files.")
_LOCK = threading.Lock()


# ---------------------------------------------------------------- parsing and verification

def _bad(path, problem):
    error = MnistError(f"MNIST file {path} is unusable: {problem}. {ADVICE}")
    error.problem = problem
    return error


def _read_bytes(path):
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise _bad(path, f"it cannot be read ({exc})") from None
    if raw[:2] != b"\x1f\x8b":                      # not gzip: a raw IDX file
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise _bad(path, f"it is not a readable gzip file ({exc}); it is probably truncated") from None


def _parse(path, key):
    """Return the verified array stored in ``path`` (read-only uint8), or raise MnistError."""
    _, md5, shape = FILES[key]
    data = _read_bytes(path)
    header = 4 + 4 * len(shape)
    magic = 0x0800 + len(shape)                     # 2051 for images, 2049 for labels
    if len(data) < header:
        raise _bad(path, f"only {len(data)} bytes, shorter than the IDX header; the file is truncated")
    found = int.from_bytes(data[:4], "big")
    if found != magic:
        kind = "image" if len(shape) == 3 else "label"
        raise _bad(path, f"wrong magic number {found} (expected {magic}); it is not an MNIST {kind} file")
    dims = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(len(shape)))
    if dims != shape:
        raise _bad(path, f"dimensions {dims} in the header, expected {shape}")
    size = header + prod(shape)
    if len(data) != size:
        what = "truncated" if len(data) < size else "too long"
        raise _bad(path, f"{len(data)} bytes of data where the header implies {size}; the file is {what}")
    if hashlib.md5(data, usedforsecurity=False).hexdigest() != md5:
        raise _bad(path, f"MD5 checksum of the decompressed bytes is not the canonical {md5}; "
                         "the file is corrupted")
    array = np.frombuffer(data, np.uint8, offset=header).reshape(shape)
    array.setflags(write=False)
    return array


@lru_cache(maxsize=4)
def _parse_cached(path, stamp, key):                # stamp = (size, mtime, inode): a changed file is re-read
    return _parse(path, key)


def _load_file(path, key):
    st = os.stat(path)
    return _parse_cached(str(path), (st.st_size, st.st_mtime_ns, st.st_ino), key)


def _find(folder, key):
    """The first existing copy (``.gz`` first, then raw) of the file ``key`` in ``folder``, or None."""
    for name in (FILES[key][0] + ".gz", FILES[key][0]):
        if (Path(folder) / name).is_file():
            return Path(folder) / name
    return None


# ---------------------------------------------------------------- folders and download

def _user_dir(data_dir):
    folder = data_dir or os.environ.get("MNIST_DIR") or None
    if folder is not None and not Path(folder).is_dir():
        source = "data_dir" if data_dir else "the environment variable MNIST_DIR"
        raise MnistError(f"{source} names {folder}, which is not a folder. Set MNIST_DIR to the folder "
                         "holding the four MNIST files, or unset it to use the download cache.")
    return None if folder is None else Path(folder)


def _cache_dir(cache_dir):
    if cache_dir or os.environ.get("CNN_CACHE_DIR"):
        return Path(cache_dir or os.environ["CNN_CACHE_DIR"])
    import pooch
    return Path(pooch.os_cache("cnn-from-scratch")) / "mnist"


class _Progress:
    """A pooch progress-bar object that forwards to ``callback(message, fraction)``, throttled."""

    def __init__(self, callback, message):
        self.callback, self.message = callback, message
        self.total, self.done, self.last = 0, 0, None

    def update(self, n):
        self.done += n
        if not self.total:                              # size unknown: say so once
            if self.last is None:
                self.last = 0.0
                self.callback(self.message, None)
            return
        fraction = min(self.done / self.total, 1.0)
        if self.last is None or fraction - self.last >= 0.02 or fraction == 1.0 > self.last:
            self.last = fraction
            self.callback(self.message, fraction)

    def reset(self):
        self.done = 0

    def close(self):
        pass


@contextmanager
def _quiet_pooch():
    """pooch logs each download at INFO level; keep it quiet (progress goes through the callback)."""
    import pooch
    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield pooch
    finally:
        logger.setLevel(level)


def _download(key, cache, mirrors, report, failures):
    """Fetch ``key`` into ``cache`` from the first mirror whose file passes all checks; None if none."""
    name = FILES[key][0] + ".gz"
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + name
        bar = _Progress(report, f"Downloading {name} from {url}")
        try:
            with _quiet_pooch() as pooch:
                downloader = pooch.HTTPDownloader(progressbar=bar, chunk_size=65536, timeout=30)
                path = pooch.retrieve(url, known_hash=None, fname=name, path=cache, downloader=downloader)
            return _load_file(path, key)
        except MnistError as exc:
            failures.append(f"{url}: the downloaded file failed verification: {exc.problem}")
            (cache / name).unlink(missing_ok=True)
        except Exception as exc:                        # network, HTTP status, disk: try the next mirror
            failures.append(f"{url}: {type(exc).__name__}: {str(exc)[:200]}")
    return None


def _not_found(missing, user_dir, cache, failures):
    names = ", ".join(FILES[k][0] + "(.gz)" for k in missing)
    where = ("The environment variable MNIST_DIR is not set" if user_dir is None
             else f"They are not in the MNIST_DIR/data_dir folder {user_dir}")
    tried = "\n".join("  - " + f for f in failures) or "  (no mirrors given)"
    return MnistError(
        f"MNIST files missing: {names}. {where}, they are not in the cache folder {cache}, "
        f"and downloading them failed from every mirror:\n{tried}\nTo fix: set the environment "
        "variable MNIST_DIR to a folder holding the four MNIST files (gzip-compressed or raw), "
        f"or copy them into {cache}, or connect to the internet and try again.")


def _locate(key, user_dir, cache):
    """The verified array from the user folder or the cache, or None; a bad cached copy is deleted."""
    if user_dir is not None and _find(user_dir, key) is not None:
        return _load_file(_find(user_dir, key), key)        # a bad file here raises: it is the user's
    while _find(cache, key) is not None:
        path = _find(cache, key)
        try:
            return _load_file(path, key)
        except MnistError:
            path.unlink()                                   # never use it; fetch a fresh copy
    return None


# ---------------------------------------------------------------- public functions

def load_mnist(progress: Callable[[str, float | None], Any] | None = None, data_dir: str | os.PathLike | None = None,
               mirrors: str | Sequence[str] | None = None,
               cache_dir: str | os.PathLike | None = None) -> tuple[NDArray[np.uint8], ...]:
    """Return ``(x_train, y_train, x_test, y_test)``: read-only uint8 arrays of shapes
    (60000, 28, 28), (60000,), (10000, 28, 28), (10000,).

    ``progress(message, fraction)`` is called with status messages (fraction in [0, 1] or None).
    ``data_dir`` overrides MNIST_DIR; ``cache_dir`` overrides CNN_CACHE_DIR; ``mirrors`` overrides
    MIRRORS (base URLs). Parsed files are kept in memory, so repeated calls are fast.
    Raises MnistError with a message saying what is wrong and what to do.
    """
    report = progress or (lambda message, fraction: None)
    user_dir, cache = _user_dir(data_dir), _cache_dir(cache_dir)
    mirrors = MIRRORS if mirrors is None else [mirrors] if isinstance(mirrors, str) else mirrors
    with _LOCK:
        arrays = {}
        for i, key in enumerate(FILES):
            report(f"Loading {FILES[key][0]}", i / len(FILES))
            arrays[key] = _locate(key, user_dir, cache)
            if arrays[key] is None:
                arrays[key] = _fetch(key, cache, mirrors, report, user_dir)
        report("MNIST ready", 1.0)
    return tuple(arrays[key] for key in FILES)


def _fetch(key, cache, mirrors, report, user_dir):
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MnistError(f"Cannot create the MNIST cache folder {cache} ({exc}). Set CNN_CACHE_DIR to a "
                         "writable folder, or MNIST_DIR to a folder holding the MNIST files.") from None
    failures = []
    array = _download(key, cache, mirrors, report, failures)
    if array is None:
        missing = [k for k in FILES if k == key or _find(cache, k) is None and
                   (user_dir is None or _find(user_dir, k) is None)]
        raise _not_found(missing, user_dir, cache, failures)
    return array


def load_subset(path=SUBSET_PATH):
    """The committed real MNIST subset: first 1000 training and first 2000 test images and labels,
    as read-only uint8 arrays ``(x_train, y_train, x_test, y_test)``."""
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = tuple(npz[k] for k in FILES)
    except (OSError, KeyError, ValueError) as exc:
        raise MnistError(f"Cannot read the MNIST subset {path} ({exc}); restore it from git "
                         "or re-create it with cnn.files.mnist.make_subset().") from None
    for array in arrays:
        if array.dtype != np.uint8:
            raise MnistError(f"MNIST subset {path}: arrays must be uint8, found {array.dtype}.")
        array.setflags(write=False)
    return arrays


def make_subset(path=SUBSET_PATH):
    """Write the subset load_subset reads from the full MNIST (found as load_mnist finds it)."""
    x_train, y_train, x_test, y_test = load_mnist()
    np.savez_compressed(path, x_train=x_train[:1000], y_train=y_train[:1000], x_test=x_test[:2000],
                        y_test=y_test[:2000])
