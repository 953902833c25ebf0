"""Child processes that end when the process that started them dies, however it dies.

A build's processes wait on a queue for their next batch; if the parent is killed (SIGKILL from
a deploy script, the OOM killer, a container stop) nothing ever arrives, and they would sleep
on, re-parented to init, holding their memory until the machine reboots. On Linux the kernel
kills them itself (`PR_SET_PDEATHSIG`) the moment their parent goes; elsewhere a thread watches
for the parent to change. Either way nothing depends on the parent cleaning up after itself.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

#: prctl(2) option: the signal this process gets when its parent dies.
_PR_SET_PDEATHSIG = 1
#: How often the portable fallback looks at its parent.
_WATCH_SECONDS = 0.5


def end_with_parent(parent: int) -> None:
    """Called first thing in a child: die with `parent` (its pid), and at once if it already
    has. Also leaves Ctrl-C to the parent (it stops its children itself) and undoes a SIGTERM
    handler the child inherited by fork."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    else:
        threading.Thread(target=_watch, args=(parent,), daemon=True).start()
    if os.getppid() != parent:  # the parent died before the death signal was set
        os._exit(1)


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(_WATCH_SECONDS)
    os._exit(1)
