"""Evaluation behind ``facerestore eval``: the synthetic benchmarks and folder specs (:mod:`.benchmark`),
running a method over them (:mod:`.runner`) and the result tables (:mod:`.tables`). See ``docs/evaluation.md``.

Names are imported on first use (PEP 562), so that building the CLI parser, which lists the benchmarks, does
not import the methods and metrics.
"""
from __future__ import annotations

from facerestore.lazy import lazy_exports

_EXPORTS = {
    "BENCHMARKS": "benchmark", "Condition": "benchmark", "EvalData": "benchmark", "fit_identity_pca": "benchmark",
    "list_benchmarks": "benchmark", "parse_spec": "benchmark", "EvalResult": "runner", "Score": "runner",
    "evaluate": "runner", "combine": "tables", "markdown_table": "tables", "read_scores": "tables",
    "write_outputs": "tables",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
