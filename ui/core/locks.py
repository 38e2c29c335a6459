"""Locks that hold across the app processes of one machine: flock(2) on files in a shared folder. No Streamlit.

A lock is held while its file stays open and is let go when it is closed, or when the process holding it ends in
any way (killed included): the kernel frees it, so no lock outlives its process and none needs cleaning up. Two
opens of one file conflict even within one process, so the same code serves threads and processes alike.
Local files only: flock on a network file system is not to be trusted.
"""
import contextlib
import fcntl
import os
import uuid
from pathlib import Path

PROCESS = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"    # this process's name in shared folders (a pid can be reused)
_alive = {}                                          # folder -> the open file that says this process is alive


def try_lock(path):
    """An open file descriptor holding an exclusive lock on `path` (created when missing), or None when it is held."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        with contextlib.suppress(FileNotFoundError):
            if os.stat(path).st_ino == os.fstat(fd).st_ino:
                return fd
        os.close(fd)                                 # its holder removed the file meanwhile: lock the new one


def release(fd, path=None):
    """Let go of a lock from try_lock; with `path`, remove the file first (while still holding it)."""
    if fd is None:
        return
    if path is not None:
        with contextlib.suppress(OSError):
            os.unlink(path)
    os.close(fd)


def held(path):
    """True while some open file holds the lock on `path`; a file nobody holds is removed (what it marked is gone)."""
    fd = try_lock(path) if Path(path).exists() else None
    if fd is None:
        return Path(path).exists()
    release(fd, path)
    return False


def mark_alive(folder):
    """Hold `<folder>/process-<PROCESS>.lock` for the life of this process (once per folder); -> its path."""
    path = Path(folder) / f"process-{PROCESS}.lock"
    if folder not in _alive:
        _alive[folder] = try_lock(path)
    return path


def process_alive(folder, process):
    """Is the app process named `process` (a PROCESS of some process) still running?"""
    return process == PROCESS or held(Path(folder) / f"process-{process}.lock")
