"""Weights files: one .npz with every parameter array plus a JSON metadata string, never pickled.

Arrays are named "<layer index>.<param>" (e.g. "0.W"); "meta" holds the network's description (arch,
activation, input_offset, dtype: a cnn.NetSpec), the format version, the per-epoch history, the training
settings and the seed; cnn/files/metadata.py says what each key may hold.

A file may come from anyone (an upload), so it is checked before it is read: the zip directory first (only
the members the format defines, stored or deflated, sizes bounded), then each member's .npy header (dtype
and shape matched against the architecture) before its data; nothing larger than the architecture needs
is ever decompressed. Every failure is a WeightsError.
"""
import io
import json
import os
import threading
import zipfile
from pathlib import Path
from typing import BinaryIO

import numpy as np

from cnn.engine.model import Model
from cnn.engine.spec import NetSpec

from .atomic import write_atomic
from .metadata import FORMAT_VERSION, check

MAX_BYTES = 50 * 1024 * 1024  # larger files are refused before they are read
MAX_META_CHARS = 500_000      # the metadata's JSON text (a long history fits many times over)
COMPRESSIONS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
FLOATS = ("<f4", "<f8")       # parameter arrays: float32 or float64, little-endian
_save_lock = threading.Lock()


class WeightsError(ValueError):
    """A file that is not a usable weights file of this project."""


def model_arrays(model):
    meta = dict(model.meta, format_version=FORMAT_VERSION, **model.spec.to_dict(), history=model.history)
    arrays = {f"{i}.{k}": a for i, p in enumerate(model.params) for k, a in p.items()}
    arrays["meta"] = np.array(json.dumps(meta))
    return arrays


def to_bytes(model):
    """The weights file's content, e.g. for a download button."""
    buf = io.BytesIO()
    np.savez(buf, **model_arrays(model))
    return buf.getvalue()


def save_model(model: Model, path: str | os.PathLike, replace: bool = True) -> None:
    """Write atomically (cnn/files/atomic.py): a temporary file in the same folder, then a rename over the target.
    With replace=False an existing file is never replaced (FileExistsError), even by a save racing this one."""
    data = to_bytes(model)
    with _save_lock:
        write_atomic(path, data, replace)


def load_model(source: str | os.PathLike | bytes | BinaryIO, name: str | None = None) -> Model:
    """A Model from a path, bytes or a binary file object. Any problem raises WeightsError saying what is wrong;
    nothing else escapes."""
    name = name or (str(source) if isinstance(source, (str, Path)) else "the uploaded file")
    try:
        return _load(source, name)
    except WeightsError:
        raise
    except (OSError, EOFError, zipfile.BadZipFile, ValueError, KeyError, MemoryError, RecursionError,
            NotImplementedError, RuntimeError, OverflowError) as e:     # a damaged or hostile file
        raise WeightsError(f"{name} is not a weights file (.npz), or it is damaged: {type(e).__name__}: "
                           f"{str(e)[:200]}") from None


def _load(source, name):
    data = _read_bounded(source, name)
    if not data.startswith(b"PK\x03\x04"):   # every .npz is a zip file
        raise WeightsError(f"{name} is not a weights file (.npz)")
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        members = _members(zf, name)
        meta = _read_meta(zf, members.pop("meta", None), name)
        try:
            model = Model(NetSpec(meta["arch"], meta["activation"], meta.get("input_offset", 0.0),
                                  meta.get("dtype", "float32")))
        except ValueError as e:                    # cnn.ArchError included
            raise WeightsError(f"{name} names a network this version cannot build: {e}") from None
        expected = {f"{i}.{k}": a for i, p in enumerate(model.params) for k, a in p.items()}
        if set(members) != set(expected):
            missing, extra = sorted(set(expected) - set(members)), sorted(set(members) - set(expected))
            raise WeightsError(f"{name} does not match its architecture {meta['arch']!r}: "
                               f"missing arrays {missing}, unexpected arrays {extra}")
        for key, target in expected.items():
            target[...] = _read_array(zf, members[key], key, target.shape, meta["arch"], name)
    model.history = meta.pop("history", [])
    model.meta = {k: v for k, v in meta.items() if k not in (*NetSpec.__dataclass_fields__, "format_version")}
    return model


def _read_bounded(source, name):
    """The file's bytes, refused unread when larger than MAX_BYTES."""
    try:
        if isinstance(source, (str, Path)):
            if Path(source).stat().st_size > MAX_BYTES:
                _too_large(name, Path(source).stat().st_size)
            return Path(source).read_bytes()
        data = source if isinstance(source, bytes) else source.read(MAX_BYTES + 1)
    except OSError as e:
        raise WeightsError(f"cannot read {name}: {e.strerror or e}") from None
    if len(data) > MAX_BYTES:
        _too_large(name, len(data))
    return data


def _too_large(name, size):
    raise WeightsError(f"{name} is {size / 2**20:.0f} MB; weights files are at most {MAX_BYTES // 2**20} MB")


def _members(zf, name):
    """{array name: ZipInfo} from the zip directory, refusing what the format never writes."""
    members = {}
    for info in zf.infolist():
        key = info.filename.removesuffix(".npy")
        if not info.filename.endswith(".npy") or key in members:
            raise WeightsError(f"{name} is not a weights file of this project: unexpected member "
                               f"{info.filename[:60]!r}")
        if info.compress_type not in COMPRESSIONS or info.flag_bits & 0x1:
            raise WeightsError(f"{name}: member {info.filename[:60]!r} is compressed or encrypted in a way weights "
                               f"files never are (only {' or '.join(COMPRESSIONS.values())} is read)")
        members[key] = info
    if sum(i.file_size for i in members.values()) > 2 * MAX_BYTES:
        raise WeightsError(f"{name} would decompress to more than {2 * MAX_BYTES // 2**20} MB; refused unread")
    return members


def _header(f, info, name):
    """(shape, fortran order, dtype) from a member's .npy header, and the data's size in bytes."""
    version = np.lib.format.read_magic(f)
    if version not in ((1, 0), (2, 0)):
        raise WeightsError(f"{name}: member {info.filename[:60]!r} has an unknown .npy version {version}")
    read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
    shape, fortran, dtype = read(f, max_header_size=10_000)
    if dtype.hasobject:
        raise WeightsError(f"{name} holds pickled Python objects, which are never loaded; "
                           "only plain numeric arrays are allowed")
    size = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if info.file_size != f.tell() + size:
        raise WeightsError(f"{name}: member {info.filename[:60]!r} is {info.file_size:,} bytes where its header "
                           f"implies {f.tell() + size:,}; the file is damaged")
    return shape, fortran, dtype, size


def _read_meta(zf, info, name):
    if info is None:
        raise WeightsError(f"{name} is an .npz file but not a weights file of this project (no metadata)")
    with zf.open(info) as f:
        shape, _, dtype, size = _header(f, info, name)
        if dtype.kind != "U" or shape != () or dtype.itemsize > 4 * MAX_META_CHARS:
            raise WeightsError(f"{name} has no readable metadata (a JSON text of at most {MAX_META_CHARS:,} "
                               "characters); it is not a weights file of this project")
        text = str(np.frombuffer(f.read(size), dtype)[0])
    try:
        meta = json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError) as e:           # JSON errors, huge integers, NaN, deep nesting
        raise WeightsError(f"{name} has unreadable metadata ({type(e).__name__}); it is not a weights file "
                           "of this project") from None
    try:
        return check(meta)
    except ValueError as e:
        raise WeightsError(f"{name}: {e}") from None


def _no_constant(word):
    raise ValueError(f"{word} is not a number JSON allows")


def _read_array(zf, info, key, shape, arch, name):
    with zf.open(info) as f:
        found, fortran, dtype, size = _header(f, info, name)
        if found != shape or dtype.str not in FLOATS:
            raise WeightsError(f"{name}: array {key} has shape {found} ({dtype}) but architecture {arch!r} needs "
                               f"{shape} (floating point: float32 or float64)")
        a = np.frombuffer(f.read(size), dtype).reshape(shape, order="F" if fortran else "C")
    if not np.isfinite(a).all():
        raise WeightsError(f"{name}: array {key} holds NaN or infinite values; the model is broken")
    return a
