"""Writing a file atomically: a reader, or a crash, sees the old file or the new one, never half of one.

Every writer of a file that is read while it may be replaced uses this one helper: weights files
(cnn/files/weights.py), the study's results (cnn/studies/study.py) and the experiment's results
(cnn/studies/experiment.py).
"""
import errno
import os
import tempfile
from pathlib import Path


def write_atomic(path: str | os.PathLike, data: bytes, replace: bool = True) -> None:
    """Write `data` to a temporary file in the same folder, flush it to the disk, then rename it over `path`.
    With replace=False an existing file is never replaced (FileExistsError), even by a write racing this one.
    On any failure the temporary file is removed and `path` is left as it was."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)   # mkstemp makes it private; these files are ordinary data
        if replace:
            os.replace(tmp, path)
        else:
            _link_new(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)      # renamed or linked: gone already, or a failed write


def _link_new(tmp, path):
    """Give the complete file `tmp` the name `path` only if no file has it: a hard link fails atomically
    when the name exists (other processes included); where links are not supported, check first (callers
    that race in one process hold a lock)."""
    try:
        os.link(tmp, path)
        return
    except OSError as e:
        if e.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.ENOSYS, errno.EXDEV):
            raise                                   # FileExistsError when the name is taken
    if path.exists():
        raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(path))
    os.replace(tmp, path)
