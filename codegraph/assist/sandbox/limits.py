"""What one sandboxed run may use: :class:`SandboxLimits` and the byte units it is written in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

GIB = 1 << 30
MIB = 1 << 20


@dataclass(frozen=True, slots=True)
class SandboxLimits:
    """Limits for one sandboxed run.

    Attributes:
        wall_time_s: elapsed-time limit (seconds); at the limit the whole process tree gets ``SIGKILL``.
        cpu_time_s: CPU time per process (seconds, ``RLIMIT_CPU``; the kernel sends ``SIGKILL`` at the limit).
        memory_bytes: memory per process (bytes), enforced as ``memory_rlimit``.
        memory_rlimit: ``"as"``: ``RLIMIT_AS``, the whole virtual address space (right for CPython, where it
            makes a large allocation fail with ``MemoryError``); ``"data"``: ``RLIMIT_DATA``, private writable
            memory only (heap and anonymous mappings, Linux >= 4.7). Node needs ``"data"``: V8 reserves large
            inaccessible address ranges up front (a WebAssembly memory reserves ~10 GiB of guard pages), so any
            useful ``RLIMIT_AS`` breaks it, while ``RLIMIT_DATA`` only counts what is actually made writable.
            :func:`run_tests` picks ``"data"`` for JavaScript by itself.
        max_file_bytes: largest file the child may write (bytes, ``RLIMIT_FSIZE``; a larger write fails with
            ``EFBIG``).
        max_output_bytes: stdout and stderr are each kept up to this many bytes; the rest is read and discarded
            (so the child never blocks on a full pipe) and :attr:`SandboxRun.output_truncated` is set.
        max_processes: processes/threads the child may add on top of those its uid already runs
            (``RLIMIT_NPROC``, which the kernel counts per uid and not for root; a fork bomb stops there).
        max_open_files: open file descriptors per process (``RLIMIT_NOFILE``).
        network: allow network access; when false the child runs in an empty network namespace (if available).
    """

    wall_time_s: float = 60.0
    cpu_time_s: int = 60
    memory_bytes: int = GIB
    memory_rlimit: Literal["as", "data"] = "as"
    max_file_bytes: int = 64 * MIB
    max_output_bytes: int = MIB
    max_processes: int = 64
    max_open_files: int = 256
    network: bool = False
