"""Tests for cnn/files/mnist.py: real MNIST files, corrupted files, and the download path against a
local HTTP server on 127.0.0.1 (never the internet)."""
import functools
import gzip
import http.server
import os
import shutil
import socket
import threading
from pathlib import Path

import numpy as np
import pytest

from cnn.files import mnist as data
from cnn.files.mnist import FILES, MnistError, load_mnist, load_subset

SHARED = Path(os.environ.get("MNIST_DIR") or Path(__file__).resolve().parents[1].parent / "shared" / "mnist")
needs_mnist = pytest.mark.skipif(not all((SHARED / (f[0] + ".gz")).is_file() for f in FILES.values())
                                 and not os.environ.get("CI"),
                                 reason=f"MNIST .gz files not found in {SHARED}; required when CI is set")
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
LABELS = FILES["y_test"][0]                       # small file, used for the corruption tests


def _dead_url():
    """A 127.0.0.1 URL where nothing listens (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/"


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """No MNIST_DIR, a private cache, and default mirrors that can only fail locally."""
    monkeypatch.delenv("MNIST_DIR", raising=False)
    monkeypatch.setenv("CNN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setattr(data, "MIRRORS", (_dead_url(),))
    return tmp_path / "cache"


def _check_full(arrays):
    x_train, y_train, x_test, y_test = arrays
    assert x_train.shape == (60000, 28, 28) and y_train.shape == (60000,)
    assert x_test.shape == (10000, 28, 28) and y_test.shape == (10000,)
    for a in arrays:
        assert a.dtype == np.uint8 and not a.flags.writeable
    assert np.bincount(y_train).tolist() == TRAIN_COUNTS
    assert np.bincount(y_test).tolist() == TEST_COUNTS
    assert x_train.max() == 255 and x_test.min() == 0


@needs_mnist
def test_real_gz_files_via_mnist_dir(monkeypatch):
    monkeypatch.setenv("MNIST_DIR", str(SHARED))
    calls = []
    arrays = load_mnist(progress=lambda m, f: calls.append((m, f)))
    _check_full(arrays)
    assert calls[-1] == ("MNIST ready", 1.0)
    assert load_mnist()[0] is arrays[0]            # parsed once, shared (read-only) afterwards
    with pytest.raises(ValueError):
        arrays[0][0, 0, 0] = 1


@needs_mnist
def test_raw_decompressed_files(tmp_path):
    for name, _, _ in FILES.values():
        (tmp_path / name).write_bytes(gzip.decompress((SHARED / (name + ".gz")).read_bytes()))
    _check_full(load_mnist(data_dir=tmp_path))


def _labels_dir(tmp_path, mutate):
    """A folder holding good copies of all files except the test labels, which are raw and mutated."""
    folder = tmp_path / "user"
    folder.mkdir()
    for name, _, _ in FILES.values():
        if name != LABELS:
            os.symlink(SHARED / (name + ".gz"), folder / (name + ".gz"))
    raw = bytearray(gzip.decompress((SHARED / (LABELS + ".gz")).read_bytes()))
    (folder / LABELS).write_bytes(bytes(mutate(raw)))
    return folder


def _flip(raw, i=5000):
    raw[i] = (raw[i] + 1) % 10
    return raw


def _magic(raw):
    raw[3] = 3                                      # 2049 -> 2051
    return raw


@needs_mnist
@pytest.mark.parametrize("mutate, expected", [
    (lambda raw: raw[:-100], "truncated"),
    (lambda raw: raw[:6], "truncated"),
    (_magic, "wrong magic number 2051 (expected 2049)"),
    (_flip, "MD5 checksum"),
    (lambda raw: raw + b"\0", "too long"),
])
def test_bad_file_in_mnist_dir_raises(tmp_path, monkeypatch, mutate, expected, isolated):
    folder = _labels_dir(tmp_path, mutate)
    monkeypatch.setenv("MNIST_DIR", str(folder))
    with pytest.raises(MnistError) as info:
        load_mnist()
    message = str(info.value)
    assert expected in message and str(folder / LABELS) in message
    assert "MNIST_DIR" in message and "Delete" in message
    assert not (isolated / (LABELS + ".gz")).exists()   # no silent download elsewhere


@needs_mnist
def test_file_damaged_after_loading_is_not_served_from_memory(tmp_path):
    folder = _labels_dir(tmp_path, lambda raw: raw)
    assert load_mnist(data_dir=folder)[3].shape == (10000,)
    raw = bytearray((folder / LABELS).read_bytes())
    (folder / LABELS).write_bytes(bytes(_flip(raw)))
    with pytest.raises(MnistError, match="MD5"):
        load_mnist(data_dir=folder)


@needs_mnist
def test_truncated_gzip_raises(tmp_path):
    gz = (SHARED / (LABELS + ".gz")).read_bytes()
    (tmp_path / (LABELS + ".gz")).write_bytes(gz[: len(gz) // 2])
    with pytest.raises(MnistError, match="truncated"):
        data._parse(tmp_path / (LABELS + ".gz"), "y_test")


def test_mnist_dir_not_a_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_DIR", str(tmp_path / "nope"))
    with pytest.raises(MnistError, match="MNIST_DIR.*not a folder"):
        load_mnist()


# ---------------------------------------------------------------- download path


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """Serve three mirrors from one 127.0.0.1 server: /missing/ (404), /corrupt/ (bad bytes), /good/."""
    if not all((SHARED / (f[0] + ".gz")).is_file() for f in FILES.values()):
        pytest.skip(f"MNIST .gz files not found in {SHARED}")
    root = tmp_path_factory.mktemp("mirrors")
    for sub in ("missing", "corrupt", "good"):
        (root / sub).mkdir()
    for name, _, _ in FILES.values():
        gz = (SHARED / (name + ".gz")).read_bytes()
        shutil.copy(SHARED / (name + ".gz"), root / "good" / (name + ".gz"))
        bad = _flip(bytearray(gzip.decompress(gz)), i=20)
        (root / "corrupt" / (name + ".gz")).write_bytes(gzip.compress(bytes(bad), compresslevel=1))
    handler = functools.partial(_QuietHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


def test_download_skips_bad_mirrors(server, isolated):
    calls = []
    mirrors = [_dead_url(), server + "missing/", server + "corrupt/", server + "good"]
    _check_full(load_mnist(progress=lambda m, f: calls.append((m, f)), mirrors=mirrors))
    assert sorted(p.name for p in isolated.iterdir()) == sorted(f[0] + ".gz" for f in FILES.values())
    downloads = [(m, f) for m, f in calls if m.startswith("Downloading")]
    assert any("/good/train-images-idx3-ubyte.gz" in m and f == 1.0 for m, f in downloads)
    assert any("/corrupt/" in m for m, f in downloads)
    assert all(f is None or 0.0 <= f <= 1.0 for m, f in calls)
    # Now cached: works with no mirror at all, and a corrupted cache file is replaced.
    _check_full(load_mnist(mirrors=[]))
    cached = isolated / (LABELS + ".gz")
    cached.write_bytes(gzip.compress(bytes(_flip(bytearray(gzip.decompress(cached.read_bytes()))))))
    _check_full(load_mnist(mirrors=[server + "corrupt/", server + "good/"]))


def test_all_mirrors_fail(server, isolated):
    with pytest.raises(MnistError) as info:
        load_mnist(mirrors=[_dead_url(), server + "missing/", server + "corrupt/"])
    message = str(info.value)
    for name, _, _ in FILES.values():
        assert name in message
    assert str(isolated) in message and "MNIST_DIR" in message
    assert "404" in message and "failed verification" in message
    assert not any(isolated.iterdir())             # the corrupted downloads were deleted


def test_default_mirrors_offline_message(isolated):
    with pytest.raises(MnistError, match="MNIST files missing: train-images-idx3-ubyte") as info:
        load_mnist()
    assert "MNIST_DIR is not set" in str(info.value) and str(isolated) in str(info.value)


def test_mnist_dir_without_files_says_so(tmp_path, monkeypatch, isolated):
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("MNIST_DIR", str(tmp_path / "empty"))
    with pytest.raises(MnistError) as info:
        load_mnist()
    message = str(info.value)
    assert f"not in the MNIST_DIR/data_dir folder {tmp_path / 'empty'}" in message
    assert str(isolated) in message and "t10k-labels-idx1-ubyte" in message


# ---------------------------------------------------------------- committed subset


def test_subset_loads():
    x_train, y_train, x_test, y_test = load_subset()
    assert x_train.shape == (1000, 28, 28) and y_train.shape == (1000,)
    assert x_test.shape == (2000, 28, 28) and y_test.shape == (2000,)
    assert all(a.dtype == np.uint8 and not a.flags.writeable for a in (x_train, y_train, x_test, y_test))
    assert set(np.unique(y_test)) == set(range(10)) and x_test.max() == 255
    assert data.SUBSET_PATH.stat().st_size < 1_000_000


@needs_mnist
def test_subset_matches_real_files(monkeypatch):
    monkeypatch.setenv("MNIST_DIR", str(SHARED))
    full, subset = load_mnist(), load_subset()
    for a, b in zip(full, subset, strict=True):
        np.testing.assert_array_equal(a[: len(b)], b)
