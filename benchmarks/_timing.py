"""Shared measuring helpers for the benchmark scripts: median wall and CPU time, peak resident memory.

CPU time (``time.process_time``: all threads of this process) is reported beside wall time because the
benchmark machine is shared: under load, wall time grows with the other processes while CPU time stays
near the work actually done.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

_M_TRIM_THRESHOLD = -1  # glibc mallopt parameters (malloc.h)
_M_MMAP_THRESHOLD = -3


@dataclass(frozen=True)
class Timing:
    """Medians over ``runs`` timed calls, in seconds."""

    wall_s: float
    cpu_s: float
    runs: int


def measure(function: Callable[[], object], repeats: int, warmup: int = 1, min_runs: int = 3,
            budget_s: float | None = None) -> Timing:
    """Median wall and CPU seconds of ``function()`` over ``repeats`` calls after ``warmup`` untimed calls.

    With ``budget_s``, stop early once the timed calls have used that much wall time (but not before
    ``min_runs`` calls), so slow cases get fewer repeats.
    """
    for _ in range(warmup):
        function()
    walls, cpus = [], []
    minimum = min(min_runs, repeats)
    while len(walls) < repeats:
        wall, cpu = time.perf_counter(), time.process_time()
        function()
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
        if budget_s is not None and len(walls) >= minimum and sum(walls) >= budget_s:
            break
    return Timing(statistics.median(walls), statistics.median(cpus), len(walls))


def return_freed_memory_to_os() -> None:
    """Make glibc serve every allocation above 64 KiB with mmap and give freed memory back at once.

    glibc's default mmap threshold adapts upwards after large frees, after which freed tensors stay in the
    heap; resident-memory deltas would then depend on what ran before. Fixed thresholds make
    :func:`peak_rss_delta` repeatable. No effect (and no error) on a non-glibc libc.
    """
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    if hasattr(libc, "mallopt"):
        libc.mallopt(_M_MMAP_THRESHOLD, 64 * 1024)
        libc.mallopt(_M_TRIM_THRESHOLD, 128 * 1024)


def _status_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def peak_rss_delta(function: Callable[[], object]) -> int | None:
    """Bytes by which the resident set peaked above its level before ``function()``: the memory a call
    needs beyond what is already resident (weights, inputs). Linux only (resets the peak through
    ``/proc/self/clear_refs``); ``None`` elsewhere."""
    try:
        Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current VmRSS
        before = _status_kib("VmRSS")
    except OSError:
        return None
    function()
    return (_status_kib("VmHWM") - before) * 1024
