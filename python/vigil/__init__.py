"""vigil: observability for AI model training. Python SDK (standard
library only; `vigil.torch` adds PyTorch helpers).

    import vigil
    run = vigil.init(project="digits", config={"lr": 1e-3})
    for step in range(1000):
        with run.phase("forward"):
            loss = ...
        run.log({"train/loss": loss}, samples=64)
        if run.should_stop:
            break
    run.finish()

docs/python.md describes every call, offline mode and the environment.
"""

from .commands import Command
from .errors import ApiError, VigilError
from .run import Run
from .series_key import SeriesKey, series
from .session import init
from .version import __version__

__all__ = [
    "ApiError",
    "Command",
    "Run",
    "SeriesKey",
    "VigilError",
    "__version__",
    "init",
    "series",
]
