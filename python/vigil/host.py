"""What init records about the process in the run's `host` object: host
name, pid, Python and library versions, command line, working directory.
The server stores the object as given (any JSON object up to 1 MiB)."""

from __future__ import annotations

import getpass
import os
import platform
import shlex
import socket
import sys

from .version import __version__

# Libraries worth recording when the program has already imported them
# (never imported here: that would cost seconds for torch).
_LIBRARIES = ("torch", "numpy", "sklearn", "jax", "tensorflow", "transformers", "lightning",
              "pytorch_lightning", "accelerate", "deepspeed")
_ENV = ("CUDA_VISIBLE_DEVICES", "SLURM_JOB_ID", "SLURM_PROCID", "LOCAL_RANK", "MASTER_ADDR")


def host_info() -> dict:
    libraries = {"vigil": __version__}
    for name in _LIBRARIES:
        mod = sys.modules.get(name)
        version = getattr(mod, "__version__", None) if mod else None
        if isinstance(version, str):
            libraries[name] = version
    try:
        user = getpass.getuser()
    except Exception:  # no user name in a container
        user = ""
    argv = list(sys.argv)
    return {
        "hostname": socket.gethostname(),
        "pid": os.getpid(),
        "user": user,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "executable": sys.executable,
        "platform": platform.platform(),
        "cpu_count": os.cpu_count() or 0,
        "cwd": os.getcwd(),
        "argv": argv,
        "command": " ".join(shlex.quote(a) for a in [os.path.basename(sys.executable)] + argv),
        "libraries": libraries,
        "env": {k: os.environ[k] for k in _ENV if k in os.environ},
    }
