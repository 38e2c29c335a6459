"""Reliability (issue 6): a damaged MNIST (missing, truncated, corrupted, the wrong file, MNIST_DIR not a folder)
says what is wrong and how to fix it, in the sidebar and on the Evaluate page, and is never trained on."""
import gzip
import os
from pathlib import Path

import pytest

import cnn
from helpers import (
    MNIST,
    new_app,
    start_training,
)

# ---------------------------------------------------------------- damaged MNIST

def _mnist_copy(folder, damage):
    """The four shared MNIST files (symbolic links) in `folder`, then one damaged: -> the MNIST_DIR to use."""
    shared = Path(os.environ["MNIST_DIR"])
    folder.mkdir()
    for name, _, _ in cnn.files.mnist.FILES.values():
        (folder / f"{name}.gz").symlink_to(shared / f"{name}.gz")
    labels, test_labels = folder / "train-labels-idx1-ubyte.gz", folder / "t10k-labels-idx1-ubyte.gz"
    if damage == "missing":
        test_labels.unlink()
    elif damage == "truncated":
        data = labels.read_bytes()
        labels.unlink()
        labels.write_bytes(data[:len(data) // 2])
    elif damage == "truncated raw":
        raw = gzip.decompress(test_labels.read_bytes())
        test_labels.unlink()
        (folder / "t10k-labels-idx1-ubyte").write_bytes(raw[:-100])
    elif damage == "corrupted":
        raw = bytearray(gzip.decompress(test_labels.read_bytes()))
        raw[5000] = (raw[5000] + 1) % 10                               # one label changed: still a valid file
        test_labels.unlink()
        test_labels.write_bytes(gzip.compress(bytes(raw)))
    elif damage == "wrong file":
        labels.unlink()
        labels.symlink_to(shared / "t10k-images-idx3-ubyte.gz")
    elif damage == "not a folder":
        (folder / "file").write_text("x")
        return folder / "file"
    return folder


BAD_MNIST = {           # damage: (what the message says is wrong, how it says to fix it)
    "missing": ("MNIST files missing: t10k-labels-idx1-ubyte", "To fix: set the environment variable MNIST_DIR"),
    "truncated": ("not a readable gzip file", "Delete or replace this file"),
    "truncated raw": ("the file is truncated", "Delete or replace this file"),
    "corrupted": ("MD5 checksum", "the file is corrupted"),
    "wrong file": ("wrong magic number 2051 (expected 2049)", "Delete or replace this file"),
    "not a folder": ("which is not a folder", "Set MNIST_DIR to the folder holding the four MNIST files"),
}


@pytest.fixture
def bad_mnist(tmp_path, monkeypatch):
    """-> damage(name): point MNIST_DIR at a damaged copy; downloads go to an empty cache and fail at once."""
    monkeypatch.setenv("CNN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(cnn.files.mnist, "MIRRORS", ("http://127.0.0.1:9/",))   # nothing listens: refused at once

    def damage(kind):
        monkeypatch.setenv("MNIST_DIR", str(_mnist_copy(tmp_path / "mnist", kind)))
    return damage


@pytest.mark.parametrize("damage", list(BAD_MNIST))
def test_damaged_mnist_says_what_is_wrong_and_never_trains(weights, bad_mnist, damage):
    what, fix = BAD_MNIST[damage]
    bad_mnist(damage)
    at = start_training(new_app(), arch_text="c4p", n_train=300, source=MNIST)
    assert not at.exception, at.exception
    errors = [e.value for e in at.sidebar.error]
    assert any("MNIST is not available" in e and what in e and fix in e for e in errors), errors
    assert "job" not in at.session_state                               # never trains on bad data
    assert any(b.label == "Train on the committed subset instead" for b in at.sidebar.button)


@pytest.mark.parametrize("damage", ["missing", "truncated", "corrupted"])
def test_damaged_mnist_on_the_evaluate_page_says_so_and_uses_the_committed_test_images(weights, bad_mnist, damage):
    what, fix = BAD_MNIST[damage]
    bad_mnist(damage)
    at = new_app()
    at.switch_page("app_pages/evaluate.py").run()
    assert not at.exception, at.exception
    errors = [e.value for e in at.error]
    assert any(what in e and fix in e and "Evaluating on the 2,000 test images committed" in e for e in errors), errors
    assert any(m.label == "Mistakes" and m.value.endswith("of 2,000") for m in at.metric)   # never the bad files
