"""Result tables: scores as a long CSV (``scores.csv``, one line per method × data × condition, what
``facerestore eval --combine`` reads back) and as the papers' wide table (methods as rows, one PSNR / SSIM /
identity column per data × condition, like FishFSRNet Tab. I or Song Tab. 6) in Markdown (``results.md``,
one table per metric, best value in bold) and CSV (``results.csv``). Every file is written atomically, and
an output folder holding results is only written into with ``overwrite``.
"""
from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from facerestore.errors import ConfigError
from facerestore.evaluate.runner import Score
from facerestore.io import write_image
from facerestore.io.atomic import write_bytes_atomic

SCORES_FILE = "scores.csv"
SCORE_FIELDS = ("method", "data", "condition", "count", "psnr", "ssim", "identity", "identity_measure", "fid")
OUTPUT_FILES = ("results.md", "results.csv", SCORES_FILE, "grid.png", "run.json")


def scores_csv(scores: Iterable[Score]) -> str:
    """The long CSV of ``scores`` (full precision; empty identity / FID when not measured)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(SCORE_FIELDS)
    for s in scores:
        writer.writerow([s.method, s.data, s.condition, s.count, repr(s.psnr), repr(s.ssim),
                         "" if s.identity is None else repr(s.identity), s.identity_measure,
                         "" if s.fid is None else repr(s.fid)])
    return buffer.getvalue()


def read_scores(run_dir: str | os.PathLike) -> list[Score]:
    """The scores a run (or a combination) wrote to ``run_dir/scores.csv``; :class:`ConfigError` naming the file."""
    path = Path(run_dir) / SCORES_FILE
    if not path.is_file():
        raise ConfigError("not found: not an evaluation folder (facerestore eval writes scores.csv)", path)
    try:
        with path.open(newline="", encoding="utf-8") as file:
            reader = csv.DictReader(file)
            if tuple(reader.fieldnames or ()) not in (SCORE_FIELDS, SCORE_FIELDS[:-1]):  # files before FID
                raise ValueError(f"columns {reader.fieldnames}, expected {list(SCORE_FIELDS)}")
            return [Score(r["method"], r["data"], r["condition"], int(r["count"]), float(r["psnr"]),
                          float(r["ssim"]), float(r["identity"]) if r["identity"] else None, r["identity_measure"],
                          float(r["fid"]) if r.get("fid") else None)
                    for r in reader]
    except (ValueError, KeyError, OSError) as error:
        raise ConfigError(f"malformed scores file ({error})", path) from None


def combine(run_dirs: Sequence[str | os.PathLike]) -> list[Score]:
    """The scores of several runs, in order; two runs scoring the same method label on the same data and
    condition is a :class:`ConfigError` (give one of them another ``--label``)."""
    scores, seen = [], {}
    for run_dir in run_dirs:
        for score in read_scores(run_dir):
            key = (score.method, score.data, score.condition)
            if key in seen:
                raise ConfigError(f"method {score.method!r} on {score.data} {score.condition} is in both {seen[key]} "
                                  f"and {run_dir}; re-run one of them with another --label")
            seen[key] = run_dir
            scores.append(score)
    return scores


def _group_names(scores: Sequence[Score]) -> dict[tuple[str, str], str]:
    """Column-group titles: the condition when all scores share one data set, else the data name (for a data
    set with one condition) or both."""
    groups = list(dict.fromkeys((s.data, s.condition) for s in scores))
    datas = {data for data, _ in groups}
    per_data = {data: sum(d == data for d, _ in groups) for data in datas}
    return {(data, cond): cond if len(datas) == 1 else data if per_data[data] == 1 else f"{data} {cond}"
            for data, cond in groups}


_METRIC_TITLES = {"PSNR": "PSNR (dB, Y channel)", "SSIM": "SSIM (Y channel)",
                  "ID dlib": "Identity similarity (cosine of dlib descriptors)",
                  "ID pca": "Identity similarity (cosine of PCA projections, Song et al. §4.2)",
                  "FID": "FID (outputs against ground truths, Inception-v3 pool features; lower is better)"}
Cells = dict[tuple[str, tuple[str, str], str], float]


def _cells(scores: Sequence[Score]) -> tuple[dict[tuple[str, str], str], list[str], list[str], Cells]:
    """(group titles, method labels, metric names, {(method, group, metric): value}), all in first-seen order."""
    cells: Cells = {}
    for s in scores:
        group = (s.data, s.condition)
        cells[s.method, group, "PSNR"] = s.psnr
        cells[s.method, group, "SSIM"] = s.ssim
        if s.identity is not None:
            cells[s.method, group, f"ID {s.identity_measure}"] = s.identity
        if s.fid is not None:
            cells[s.method, group, "FID"] = s.fid
    methods = list(dict.fromkeys(key[0] for key in cells))
    metrics = list(dict.fromkeys(key[2] for key in cells))
    return _group_names(scores), methods, metrics, cells


def _format(metric: str, value: float | None) -> str:
    if value is None:
        return "–"
    return ("{:.2f}" if metric in ("PSNR", "FID") else "{:.4f}").format(value)


def markdown_table(scores: Sequence[Score]) -> str:
    """One Markdown table per metric (PSNR, SSIM, identity), methods as rows and data × condition as columns;
    the best (highest) value of a column is bold when there are several methods."""
    titles, methods, metrics, cells = _cells(scores)
    parts = []
    for metric in metrics:
        groups = [g for g in titles if any((m, g, metric) in cells for m in methods)]
        lines = [f"**{_METRIC_TITLES.get(metric, metric)}**", "",
                 "| Method | " + " | ".join(titles[g] for g in groups) + " |", "|---|" + "---:|" * len(groups)]
        for method in methods:
            row = []
            for group in groups:
                value = cells.get((method, group, metric))
                column = [cells[m, group, metric] for m in methods if (m, group, metric) in cells]
                bold = len(methods) > 1 and value is not None and value == max(column)
                row.append(f"**{_format(metric, value)}**" if bold else _format(metric, value))
            lines.append(f"| {method} | " + " | ".join(row) + " |")
        parts.append("\n".join(lines) + "\n")
    return "\n".join(parts)


def wide_csv(scores: Sequence[Score]) -> str:
    """One CSV table, methods as rows and a column per data × condition × metric (full precision, empty
    cells where a method has no score)."""
    titles, methods, metrics, cells = _cells(scores)
    columns = [(g, metric) for g in titles for metric in metrics if any((m, g, metric) in cells for m in methods)]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["method", *(f"{titles[g]} {metric}" for g, metric in columns)])
    for method in methods:
        writer.writerow([method, *(repr(cells[key]) if (key := (method, g, metric)) in cells else ""
                                   for g, metric in columns)])
    return buffer.getvalue()


def check_output_folder(out: str | os.PathLike, overwrite: bool) -> Path:
    """``out`` as a Path, refusing (:class:`ConfigError`) a folder that already holds results unless ``overwrite``."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError("exists and is not a folder", out)
    existing = [name for name in OUTPUT_FILES if (out / name).exists()]
    if existing and not overwrite:
        raise ConfigError(f"already holds evaluation results ({', '.join(existing)}); pass overwrite=True to "
                          "replace them or choose another folder", out)
    return out


def write_outputs(out: str | os.PathLike, scores: Sequence[Score], *, title: str, grid: np.ndarray | None = None,
                  meta: Mapping | None = None, overwrite: bool = False) -> list[Path]:
    """Write ``results.md`` (``title`` + table), ``results.csv``, ``scores.csv`` and, when given, ``grid.png``
    and ``run.json`` (``meta``) into ``out`` (created); returns the written paths."""
    out = check_output_folder(out, overwrite)
    out.mkdir(parents=True, exist_ok=True)
    texts = {"results.md": f"# {title}\n\n{markdown_table(scores)}", "results.csv": wide_csv(scores),
             SCORES_FILE: scores_csv(scores)}
    if meta is not None:
        texts["run.json"] = json.dumps(meta, indent=2, sort_keys=True) + "\n"
    written = [write_bytes_atomic(out / name, text.encode("utf-8")) for name, text in texts.items()]
    if grid is not None:
        written.append(write_image(out / "grid.png", grid, overwrite=True))
    return written
