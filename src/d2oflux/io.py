"""Writing outputs whole or not at all: temporary files in the same folder, renamed into place."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from .errors import ConfigError


def check_output_folder(path: str | Path) -> Path:
    """Raise :class:`ConfigError` unless the folder that will hold ``path`` exists."""
    p = Path(path)
    if not p.parent.exists() or not p.parent.is_dir():
        raise ConfigError(f"output '{path}': folder '{p.parent}' does not exist")
    return p


def write_json_atomic(path: str | Path, obj) -> None:
    """Write ``obj`` as JSON to ``path`` through a temporary file (no half-written file on failure)."""
    p = check_output_folder(path)
    fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(obj, fh, indent=1)
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
