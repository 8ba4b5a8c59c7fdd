"""Evaluation behind ``facerestore eval``: the synthetic benchmarks and folder specs (:mod:`.benchmark`),
running a method over them (:mod:`.runner`) and the result tables (:mod:`.tables`). See ``docs/evaluation.md``.

Names are imported on first use (PEP 562), so that building the CLI parser, which lists the benchmarks, does
not import the methods and metrics.
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "BENCHMARKS": "benchmark", "Condition": "benchmark", "EvalData": "benchmark", "fit_identity_pca": "benchmark",
    "list_benchmarks": "benchmark", "parse_spec": "benchmark", "EvalResult": "runner", "Score": "runner",
    "evaluate": "runner", "combine": "tables", "markdown_table": "tables", "read_scores": "tables",
    "write_outputs": "tables",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)


def __dir__() -> list[str]:
    return __all__
