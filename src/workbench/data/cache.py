"""Where the workbench keeps what it can compute again: one folder per kind under the user's cache."""

from __future__ import annotations

import os
from pathlib import Path


def cache_folder(kind: str, override_env: str) -> Path:
    """``$<override_env>`` when set, else ``$XDG_CACHE_HOME/workbench/<kind>`` (``~/.cache/workbench/<kind>``)."""
    env = os.environ.get(override_env)
    if env:
        return Path(env)
    cache_home = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache_home) / "workbench" / kind
