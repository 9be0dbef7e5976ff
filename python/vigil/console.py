"""One-line notices on stderr, all prefixed "vigil: ".

Any thread may call these. `VIGIL_QUIET=1` silences notices (never the
messages about undelivered data, which say how to recover it).
"""

from __future__ import annotations

import os
import sys
import threading

_once_lock = threading.Lock()
_once_keys: set = set()


def notice(message: str, *, important: bool = False) -> None:
    """Writes `vigil: message` to stderr."""
    if not important and os.environ.get("VIGIL_QUIET", "") not in ("", "0"):
        return
    try:
        sys.stderr.write(f"vigil: {message}\n")
        sys.stderr.flush()
    except (OSError, ValueError):  # stderr closed at interpreter exit
        pass


def notice_once(key, message: str) -> None:
    """Like notice, but only the first time `key` is seen in this process."""
    with _once_lock:
        if key in _once_keys:
            return
        _once_keys.add(key)
    notice(message)
