"""Reliability (issue 6): saving a model under a bad, hostile or shipped name, into a folder that cannot be
written, on a full disk: refused with the reason, nothing written outside weights/, nothing half-written."""
import errno
import os
from pathlib import Path

import pytest

from helpers import (
    save,
    with_a_model,
)

# ---------------------------------------------------------------- saving

BAD_NAMES = {           # name typed in "Save as": the reason given
    "../evil": "use 1 to 64 letters", "..": "use 1 to 64 letters", ".": "use 1 to 64 letters",
    "../../outside": "use 1 to 64 letters", "/tmp/evil": "use 1 to 64 letters", "a/b": "use 1 to 64 letters",
    "a\\b": "use 1 to 64 letters", "": "use 1 to 64 letters", "   ": "use 1 to 64 letters",
    "x" * 65: "use 1 to 64 letters", "x" * 10_000: "use 1 to 64 letters", ".hidden": "use 1 to 64 letters",
    "mine\n": None, "nul\x00byte": "use 1 to 64 letters", "ünïcode": "use 1 to 64 letters",
    "default": "name of a shipped model", "default.npz": "name of a shipped model", "c8p": "shipped model",
    "experiment": "shipped model", "c16pc16": "shipped model",     # shipped names, even where no file is there
    "theirs": "already exists and was not saved from this session",
}


def tree(folder):
    """{relative path: bytes} of every file under folder."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(Path(folder).rglob("*")) if p.is_file()}


def test_bad_save_names_are_refused_and_nothing_is_written_outside_the_folder(weights):
    (weights / "theirs.npz").write_bytes((weights / "default.npz").read_bytes())   # saved by someone else
    outside = weights.parent.parent
    before = tree(outside)
    at, _ = with_a_model()
    for name, reason in BAD_NAMES.items():
        at = save(at, name)
        assert not at.exception, (name, at.exception)
        if reason is None:                                               # trailing whitespace is trimmed
            assert any("Saved as weights/mine.npz" in s.value for s in at.sidebar.success)
            continue
        errors = [e.value for e in at.sidebar.error]
        assert any(e.startswith("Not saved:") and reason in e for e in errors), (name, errors)
    after = tree(outside)
    assert set(after) - set(before) == {"outside/weights/mine.npz"}           # the one good save, nothing else
    assert all(after[f] == data for f, data in before.items())          # shipped files unchanged, byte for byte
    assert not Path("/tmp/evil.npz").exists() and not Path("/tmp/evil").exists()


def test_an_unwritable_weights_folder_refuses_the_save_and_keeps_the_model(weights, tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("CNN_WEIGHTS_DIR", str(blocker / "weights"))     # as root, chmod would not stop a write
    at, model = with_a_model()
    assert not at.exception, at.exception
    before = tree(tmp_path)
    at = save(at, "mine")
    assert not at.exception, at.exception
    errors = [e.value for e in at.sidebar.error]
    assert any("Not saved: cannot write to weights/" in e and "download it instead" in e for e in errors), errors
    assert at.session_state["session_models"]["mine"] is model
    assert at.sidebar.get("download_button")                             # the way out the message names
    assert tree(tmp_path) == before


@pytest.mark.parametrize("fault", ["os.replace", "os.fsync"])
def test_a_full_disk_leaves_the_previous_file_intact(weights, monkeypatch, fault):
    at, model = with_a_model()
    at = save(at, "mine")
    assert any("Saved as weights/mine.npz" in s.value for s in at.sidebar.success)
    previous = (weights / "mine.npz").read_bytes()
    model.params[0]["b"][...] = 1.0                                     # a different model under the same name

    def full(*args, **kw):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(fault, full)
    at = save(at, "mine")
    monkeypatch.undo()
    assert not at.exception, at.exception
    errors = [e.value for e in at.sidebar.error]
    assert any("Not saved: cannot write to weights/ (No space left on device)" in e for e in errors), errors
    assert (weights / "mine.npz").read_bytes() == previous
    assert not [p.name for p in weights.iterdir() if p.name.endswith(".tmp")]
