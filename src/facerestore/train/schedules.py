"""Optimizers and learning-rate schedules of a recipe stage: Adam / AdamW / SGD, ``constant`` / ``multistep`` /
``cosine`` factors with a linear warm-up (pure functions of the iteration, so resuming is exact), and the
``plateau`` schedule driven by validation losses (GFRNet §4.2)."""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch

from facerestore.errors import ConfigError


def build_optimizer(spec: dict, params: Sequence[torch.nn.Parameter]) -> torch.optim.Optimizer:
    """Adam / AdamW / SGD from a stage's ``optimizer`` mapping."""
    kind = spec["type"].lower()
    if kind in ("adam", "adamw"):
        cls = torch.optim.Adam if kind == "adam" else torch.optim.AdamW
        return cls(params, lr=spec["lr"], betas=tuple(spec["betas"]), eps=spec["eps"],
                   weight_decay=spec["weight_decay"])
    if kind == "sgd":
        return torch.optim.SGD(params, lr=spec["lr"], momentum=spec["momentum"], weight_decay=spec["weight_decay"])
    raise ConfigError(f"optimizer.type must be adam, adamw or sgd, got {spec['type']!r}")


class Plateau:
    """The lr factor of a ``plateau`` schedule (GFRNet §4.2: 2e-4 → 2e-5 → 2e-6, each "until the
    reconstruction loss on the validation set becomes non-decreasing"): × ``gamma`` after more than
    ``patience`` validations whose loss did not fall below ``best · (1 − threshold)``, never below
    ``min_factor``. A callable object, so ``LambdaLR.state_dict`` saves its state (best, count, factor)."""

    def __init__(self, spec: dict):
        self.gamma, self.min_factor = spec["gamma"], spec["min_factor"]
        self.patience, self.threshold = spec["patience"], spec["threshold"]
        self.factor, self.best, self.bad = 1.0, math.inf, 0

    def __call__(self, iteration: int) -> float:
        return self.factor

    def observe(self, value: float) -> bool:
        """Record one validation loss; True when the factor changed."""
        if value < self.best * (1.0 - self.threshold):
            self.best, self.bad = value, 0
            return False
        self.bad += 1
        if self.bad <= self.patience:
            return False
        self.bad = 0
        factor = max(self.factor * self.gamma, self.min_factor)
        changed, self.factor = factor != self.factor, factor
        return changed


def build_scheduler(spec: dict, optimizer: torch.optim.Optimizer, total: int) -> torch.optim.lr_scheduler.LambdaLR:
    """``LambdaLR`` of a stage's ``scheduler`` mapping (its lambda a :class:`Plateau` for ``plateau``)."""
    factor = Plateau(spec) if spec["type"] == "plateau" else lr_factor(spec, total)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def observe_plateau(scheduler: torch.optim.lr_scheduler.LambdaLR, value: float) -> None:
    """Feed a validation loss to a plateau schedule and apply a changed factor to the optimizer at once (the
    scheduler's next step keeps it: its lambda returns the new factor)."""
    plateau = scheduler.lr_lambdas[0]
    if isinstance(plateau, Plateau) and plateau.observe(value):
        for group, base in zip(scheduler.optimizer.param_groups, scheduler.base_lrs):
            group["lr"] = base * plateau.factor


def lr_factor(spec: dict, total: int) -> Callable[[int], float]:
    """Learning-rate factor of iteration t: ``constant``, ``multistep`` (× gamma at each of ``milestones``) or
    ``cosine`` (from 1 to ``min_factor`` over the stage), times a linear warm-up over the first ``warmup``
    iterations. A pure function of t, so resuming is exact."""
    factor, warmup = _decay_factor(spec, total), spec.get("warmup", 0)
    if warmup <= 0:
        return factor
    return lambda t: factor(t) * min(1.0, (t + 1) / warmup)


def _decay_factor(spec: dict, total: int) -> Callable[[int], float]:
    kind = spec["type"]
    if kind == "constant":
        return lambda t: 1.0
    if kind == "multistep":
        milestones = sorted(spec["milestones"])
        return lambda t: spec["gamma"] ** sum(t >= m for m in milestones)
    if kind == "cosine":
        low = spec["min_factor"]
        return lambda t: low + (1 - low) * 0.5 * (1 + math.cos(math.pi * min(t, total) / max(total, 1)))
    raise ConfigError(f"scheduler.type must be constant, multistep, cosine or plateau, got {kind!r}")
