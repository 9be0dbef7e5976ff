"""Nothing logged is lost when the process ends: every run still open is
finished at interpreter exit (atexit), and SIGTERM flushes it.

SIGTERM, chaining whatever handler was installed before vigil's:
  - a Python handler: every open run is flushed (to the server, or to its
    spill directory), then that handler runs; the run stays open, since the
    program may well go on.
  - SIG_IGN: runs are flushed; nothing else.
  - the default: every open run is finished as "failed" ("terminated by
    SIGTERM"), then the signal is raised again with the default action, so
    the exit status is the one the sender of the signal expects.
An uncaught exception (sys.excepthook) makes the atexit finish "failed"
with the exception's summary.

The handler is installed at the first init made on the main thread (Python
allows signal handlers only there). Registry calls come from any thread.
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
import threading
import traceback

_lock = threading.Lock()
_runs: list = []
_installed = False
_prev_sigterm = None
_prev_excepthook = None
_uncaught = None  # summary of the exception that is ending the program
_deferred_sigterm = False


def exception_summary(exc_type, exc, tb) -> str:
    """"ValueError: bad input (train.py:42)" for a run's failure message."""
    where = ""
    frames = traceback.extract_tb(tb) if tb is not None else []
    if frames:
        f = frames[-1]
        where = f" ({os.path.basename(f.filename)}:{f.lineno})"
    text = "".join(traceback.format_exception_only(exc_type, exc)).strip()
    return (text + where)[:4000]


def register(run) -> None:
    global _installed
    with _lock:
        _runs.append(run)
        if _installed:
            return
        _installed = True
    atexit.register(_at_exit)
    _install_excepthook()
    if threading.current_thread() is threading.main_thread():
        _install_sigterm()


def unregister(run) -> None:
    with _lock:
        if run in _runs:
            _runs.remove(run)


def _open_runs() -> list:
    with _lock:
        return list(_runs)


def _install_excepthook() -> None:
    global _prev_excepthook
    _prev_excepthook = sys.excepthook

    def hook(exc_type, exc, tb):
        global _uncaught
        _uncaught = exception_summary(exc_type, exc, tb)
        (_prev_excepthook or sys.__excepthook__)(exc_type, exc, tb)

    sys.excepthook = hook


def _install_sigterm() -> None:
    global _prev_sigterm
    try:
        _prev_sigterm = signal.getsignal(signal.SIGTERM)
        signal.signal(signal.SIGTERM, _on_sigterm)
    except (ValueError, OSError):  # not the main thread of the main interpreter
        pass


def _on_sigterm(signum, frame) -> None:
    prev = _prev_sigterm
    if callable(prev):
        for run in _open_runs():
            run.flush()
        prev(signum, frame)
        return
    if prev == signal.SIG_IGN:
        for run in _open_runs():
            run.flush()
        return
    global _deferred_sigterm
    runs = _open_runs()
    if any(run.finishing for run in runs):
        # The signal interrupted a finish on this thread: let it complete,
        # then die (finished_one calls _die).
        _deferred_sigterm = True
        return
    for run in runs:
        run.finish(state="failed", message="terminated by SIGTERM")
    _die()


def _die() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)


def finished_one(run) -> None:
    """Called at the end of every finish."""
    global _deferred_sigterm
    unregister(run)
    if _deferred_sigterm and not any(r.finishing for r in _open_runs()):
        _deferred_sigterm = False
        for r in _open_runs():
            r.finish(state="failed", message="terminated by SIGTERM")
        _die()


def _at_exit() -> None:
    for run in _open_runs():
        if _uncaught:
            run.finish(state="failed", message=_uncaught)
        else:
            run.finish()
