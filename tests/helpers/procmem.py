"""How much memory another process uses, read from Linux's ``/proc``.

``/proc/<pid>/status`` holds, among other lines::

    VmHWM:     41236 kB      <- "high water mark": the most resident memory so far
    VmRSS:     38900 kB      <- resident memory now

RSS (resident set size) is the memory the process really occupies in RAM. The peak is what
a memory test wants: a burst that is freed again by the end would not show in ``VmRSS``
read afterwards, but it does in ``VmHWM``. Writing ``5`` to ``/proc/<pid>/clear_refs``
(Linux 4.0 and later) starts the peak over from the current RSS, so a test can warm a
server up, reset the peak, then attack and read the peak of the attack alone.

The process to watch is usually a server started with :class:`helpers.foreground.Foreground`
(``python -m wslearn serve`` in a child process): its memory is its own, not the test's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Dict


def memory_status(pid: int) -> Dict[str, int]:
    """The ``Vm...`` lines of ``/proc/<pid>/status``, in bytes (``{"VmRSS": ..., ...}``)."""
    found: Dict[str, int] = {}
    text = Path(f"/proc/{pid}/status").read_text(encoding="utf-8", errors="replace")
    for line in text.splitlines():
        name, _, value = line.partition(":")
        parts = value.split()
        if name.startswith("Vm") and len(parts) == 2 and parts[1] == "kB":
            found[name] = int(parts[0]) * 1024
    return found


def rss(pid: int) -> int:
    """Resident memory of process ``pid`` now, in bytes."""
    return memory_status(pid)["VmRSS"]


def peak_rss(pid: int) -> int:
    """The most resident memory ``pid`` has had, since it started or since :func:`reset_peak`."""
    return memory_status(pid)["VmHWM"]


def reset_peak(pid: int) -> bool:
    """Start ``pid``'s peak RSS over from its RSS now; False where the kernel does not allow it.

    Without the reset the peak still counts from the process's start, which can only make
    a measured growth larger, never hide one.
    """
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5", encoding="ascii")
    except OSError:
        return False
    return True
