"""Keep large freed arrays in the process's heap instead of returning them to the OS at once.

A training step allocates and frees arrays of a few MB. By default glibc gives each one its own
mmap, so every step pays for fresh, zeroed pages from the kernel; that made a c16pc16 step about
2.3 times slower on the benchmark machine. Raising the mmap and trim thresholds lets the next step
reuse the same memory. Elsewhere than glibc this does nothing.
"""
import ctypes
import ctypes.util

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD = 32 * 2**20   # glibc's largest allowed value on 64-bit systems
TRIM_THRESHOLD = 256 * 2**20


def keep_freed_memory() -> bool:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        return bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) and libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    except (OSError, AttributeError, TypeError):
        return False
