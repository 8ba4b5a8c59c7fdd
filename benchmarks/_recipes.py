"""Where the benchmarks find a recipe by name: ``configs/<method>/<name>.yaml``."""
from __future__ import annotations

from pathlib import Path

CONFIGS = Path(__file__).resolve().parent.parent / "configs"


def recipe_file(name: str) -> Path:
    """The recipe file named ``name`` (its stem) under ``configs/``."""
    found = sorted(CONFIGS.glob(f"*/{name}.yaml"))
    if len(found) != 1:
        raise FileNotFoundError(f"{len(found)} recipes named {name!r} under {CONFIGS}")
    return found[0]
