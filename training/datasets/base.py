"""Where the shared datasets live."""

from __future__ import annotations

import os
from pathlib import Path

_PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATA_ROOT = "../shared/data"


class DataNotFoundError(FileNotFoundError):
    """A dataset's files are not where the configuration says."""


def resolve_data_root(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Where the shared datasets live.

    Order: the explicit argument, ``$HAAD_DATA``, then ``../shared/data`` relative to the working
    directory and to the project checkout. Raises :class:`DataNotFoundError` naming what was tried.
    """
    candidates: list[Path]
    if explicit is not None:
        candidates = [Path(explicit)]
    elif os.environ.get("HAAD_DATA"):
        candidates = [Path(os.environ["HAAD_DATA"])]
    else:
        candidates = [Path.cwd() / DEFAULT_DATA_ROOT, _PROJECT_ROOT / DEFAULT_DATA_ROOT]
    for c in candidates:
        if c.is_dir():
            return c.resolve()
    tried = ", ".join(str(c) for c in candidates)
    raise DataNotFoundError(f"dataset folder not found (tried {tried}); pass --data-root or set HAAD_DATA")


def require_file(path: Path, what: str) -> Path:
    if not path.exists():
        raise DataNotFoundError(f"{what} not found at {path}")
    return path
