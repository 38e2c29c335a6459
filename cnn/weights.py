"""Weights files: one .npz with every parameter array plus a JSON metadata string, never pickled.

Arrays are named "<layer index>.<param>" (e.g. "0.W"); "meta" holds the architecture, activation,
input offset, format version, per-epoch history, training settings and seed.
"""
import errno
import io
import json
import os
import tempfile
import threading
import zipfile
from pathlib import Path

import numpy as np

from .arch import ArchError
from .model import ACTIVATIONS, Model

FORMAT_VERSION = 1
MAX_BYTES = 50 * 1024 * 1024  # larger files are refused before they are read
_save_lock = threading.Lock()


class WeightsError(ValueError):
    """A file that is not a usable weights file of this project."""


def model_arrays(model):
    meta = dict(model.meta, format_version=FORMAT_VERSION, arch=model.arch, activation=model.activation,
                input_offset=model.input_offset, history=model.history)
    arrays = {f"{i}.{k}": a for i, p in enumerate(model.params) for k, a in p.items()}
    arrays["meta"] = np.array(json.dumps(meta))
    return arrays


def to_bytes(model):
    """The weights file's content, e.g. for a download button."""
    buf = io.BytesIO()
    np.savez(buf, **model_arrays(model))
    return buf.getvalue()


def save_model(model, path, replace=True):
    """Write atomically: a temporary file in the same folder, then a rename over the target.
    With replace=False an existing file is never replaced (FileExistsError), even by a save racing this one."""
    path = Path(path)
    data = to_bytes(model)
    with _save_lock:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o644)   # mkstemp makes it private; a weights file is ordinary data
            if replace:
                os.replace(tmp, path)
            else:
                _link_new(tmp, path)
        finally:
            Path(tmp).unlink(missing_ok=True)      # renamed or linked: gone already, or a failed save


def _link_new(tmp, path):
    """Give the complete file `tmp` the name `path` only if no file has it: a hard link fails atomically
    when the name exists (other processes included); where links are not supported, check under the lock."""
    try:
        os.link(tmp, path)
        return
    except OSError as e:
        if e.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOSYS, errno.EXDEV):
            raise                                   # FileExistsError when the name is taken
    if path.exists():
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(path))
    os.replace(tmp, path)


def load_model(source, name=None):
    """A Model from a path, bytes or a binary file object; WeightsError says what is wrong."""
    name = name or (str(source) if isinstance(source, (str, Path)) else "the uploaded file")
    try:
        data = Path(source).read_bytes() if isinstance(source, (str, Path)) else source
        data = data if isinstance(data, bytes) else data.read()
    except OSError as e:
        raise WeightsError(f"cannot read {name}: {e.strerror or e}") from None
    if len(data) > MAX_BYTES:
        raise WeightsError(f"{name} is {len(data) / 2**20:.0f} MB; weights files are at most "
                           f"{MAX_BYTES // 2**20} MB")
    if not data.startswith(b"PK\x03\x04"):   # every .npz is a zip file
        raise WeightsError(f"{name} is not a weights file (.npz)")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except ValueError as e:
        if "pickle" in str(e):
            raise WeightsError(f"{name} holds pickled Python objects, which are never loaded; "
                               "only plain numeric arrays are allowed") from None
        raise WeightsError(f"{name} is not a weights file (.npz): {e}") from None
    except (OSError, EOFError, zipfile.BadZipFile, KeyError) as e:
        raise WeightsError(f"{name} is not a weights file (.npz), or it is damaged: {e}") from None
    return _from_arrays(arrays, name)


def _from_arrays(arrays, name):
    meta = _read_meta(arrays.pop("meta", None), name)
    try:
        model = Model(meta["arch"], meta["activation"], meta.get("seed", 0), meta.get("input_offset", 0.0))
    except (ArchError, ValueError, TypeError) as e:
        raise WeightsError(f"{name} names an architecture this version cannot build: {e}") from None
    expected = {f"{i}.{k}": a for i, p in enumerate(model.params) for k, a in p.items()}
    if set(arrays) != set(expected):
        missing, extra = sorted(set(expected) - set(arrays)), sorted(set(arrays) - set(expected))
        raise WeightsError(f"{name} does not match its architecture {meta['arch']!r}: "
                           f"missing arrays {missing}, unexpected arrays {extra}")
    for key, target in expected.items():
        a = arrays[key]
        if a.shape != target.shape or a.dtype.kind != "f":
            raise WeightsError(f"{name}: array {key} has shape {a.shape} ({a.dtype}) but architecture "
                               f"{meta['arch']!r} needs {target.shape} (floating point)")
        if not np.isfinite(a).all():
            raise WeightsError(f"{name}: array {key} holds NaN or infinite values; the model is broken")
        target[...] = a
    model.history = meta.get("history", [])
    model.meta = {k: v for k, v in meta.items() if k not in ("arch", "activation", "input_offset", "history")}
    return model


def _read_meta(meta, name):
    if meta is None or meta.dtype.kind != "U" or meta.ndim != 0:
        raise WeightsError(f"{name} is an .npz file but not a weights file of this project (no metadata)")
    try:
        meta = json.loads(str(meta))
    except json.JSONDecodeError:
        meta = None
    if not isinstance(meta, dict) or not isinstance(meta.get("arch"), str):
        raise WeightsError(f"{name} has unreadable metadata; it is not a weights file of this project")
    if meta.get("format_version") != FORMAT_VERSION:
        raise WeightsError(f"{name} has format version {meta.get('format_version')!r}; this version of the "
                           f"app reads version {FORMAT_VERSION}")
    if meta.get("activation") not in ACTIVATIONS:
        raise WeightsError(f"{name} has an unknown activation {meta.get('activation')!r}")
    if not isinstance(meta.get("history", []), list):
        raise WeightsError(f"{name} has a malformed training history")
    return meta
