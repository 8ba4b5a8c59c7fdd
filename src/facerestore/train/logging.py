"""Run logging (rank 0 only): a tqdm bar (iteration, loss, it/s, ETA), ``scalars.csv`` with every logged scalar
(stage, iteration, name, value), optional TensorBoard scalars and images, the validation comparison grids
(``grids/<stage>_<iteration>.png``, :func:`facerestore.metrics.grid.comparison_grid`) and ``train.log``."""
from __future__ import annotations

import csv
import logging
import os
from pathlib import Path

import numpy as np
from tqdm import tqdm

from facerestore.io import write_image

log = logging.getLogger("facerestore.train")


class RunLogger:
    """Everything a run writes besides checkpoints; a no-op on ranks other than 0 (``enabled=False``)."""

    def __init__(self, folder: str | os.PathLike, enabled: bool = True, tensorboard: bool = False,
                 progress: bool = True):
        self.folder = Path(folder)
        self.enabled = enabled
        self.progress = progress and enabled
        self.bar: tqdm | None = None
        self.writer = None
        self._csv = None
        if not enabled:
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(self.folder / "train.log", encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        self._handler = handler
        path = self.folder / "scalars.csv"
        new = not path.exists()
        self._csv = path.open("a", newline="", encoding="utf-8")
        self._rows = csv.writer(self._csv)
        if new:
            self._rows.writerow(["stage", "iteration", "name", "value"])
        if tensorboard:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                log.warning("TensorBoard OFF: install the 'tensorboard' extra (pip install facerestore[tensorboard])")
            else:
                self.writer = SummaryWriter(str(self.folder / "tensorboard"))

    def info(self, message: str, *args) -> None:
        if self.enabled:
            log.info(message, *args)
            (self.bar.write if self.bar is not None else print)(message % args if args else message)

    def start_stage(self, name: str, start: int, total: int) -> None:
        if self.progress:
            self.bar = tqdm(total=total, initial=start, desc=name, unit="it", dynamic_ncols=True)

    def step(self, loss: float) -> None:
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix(loss=f"{loss:.4g}")

    def end_stage(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def scalars(self, stage: str, iteration: int, values: dict[str, float]) -> None:
        if not self.enabled:
            return
        for name, value in values.items():
            self._rows.writerow([stage, iteration, name, f"{value:.8g}"])
            if self.writer is not None:
                self.writer.add_scalar(f"{stage}/{name}", value, iteration)
        self._csv.flush()

    def warning(self, message: str) -> None:
        if self.enabled:
            log.warning(message)
            (self.bar.write if self.bar is not None else print)(f"warning: {message}")

    def logged(self, stage: str, name: str) -> list[float]:
        """The values of scalar ``name`` that ``scalars.csv`` holds for ``stage``, in order (resumed runs
        included: the file is appended to)."""
        if not self.enabled:
            return []
        self._csv.flush()
        with (self.folder / "scalars.csv").open(newline="", encoding="utf-8") as file:
            return [float(row["value"]) for row in csv.DictReader(file)
                    if row["stage"] == stage and row["name"] == name]

    def grid(self, stage: str, iteration: int, image: np.ndarray) -> Path | None:
        if not self.enabled:
            return None
        path = self.folder / "grids" / f"{stage}_{iteration:08d}.png"
        path.parent.mkdir(exist_ok=True)
        write_image(path, image, overwrite=True)
        if self.writer is not None:
            self.writer.add_image(f"{stage}/grid", image, iteration, dataformats="HWC")
        return path

    def close(self) -> None:
        self.end_stage()
        if self._csv is not None:
            self._csv.close()
            self._csv = None
            log.removeHandler(self._handler)
            self._handler.close()
        if self.writer is not None:
            self.writer.close()
