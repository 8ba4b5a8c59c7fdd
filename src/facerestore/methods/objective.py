"""What a recipe stage trains: the :class:`Objective` protocol, the paper-agnostic pixel objective and the
registry of objectives (each paper's own objectives live in its method's file and register there).

An objective is an ``nn.Module`` wrapping the method: ``forward(batch) → (loss, logs)``; the trainer wraps it
in DDP and optimises ``trainable_parameters()``. Modules a stage does not train are frozen (no gradients,
eval mode). Objectives with discriminators (Yun & Park, GFRNet) build on :mod:`facerestore.methods.adversarial`.

Stage objectives (``stages[i].objective`` in a recipe, ``options`` as keyword arguments):

* ``pixel`` (here): the method's output against ``hr`` with ``loss`` l1 | l2, training the method attributes
  listed in ``train`` (all when omitted); optional ``perceptual`` {layer: weight} with ``perceptual_weight``.
  FishFSRNet stage "sr" (Wang et al. §IV-B: L1, ``train: [net]``, ParsingNet frozen and predicting the
  parsing map), FSGN (Song et al. §3.1: L2), the baselines (SRCNN, VDSR, SRResNet: MSE as in their papers;
  SPARNet: L1 as in Chen et al.).
* ``fishfsrnet_parsing``: :mod:`facerestore.methods.fishfsrnet`.
* ``ufvnet_separate``, ``ufvnet_integrated``: :mod:`facerestore.methods.ufvnet`.
* ``yun_park``: :mod:`facerestore.methods.yun_park`; ``gfrnet_flow``, ``gfrnet``: :mod:`facerestore.methods.gfrnet`.
"""
from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import ClassVar

import torch
from torch import nn

from facerestore.errors import ConfigError
from facerestore.losses import NO_VGG19, perceptual_or_none, pixel_loss
from facerestore.methods.base import Method
from facerestore.registry import Registry

Batch = Mapping[str, torch.Tensor]
OBJECTIVES: Registry[type["Objective"]] = Registry("objective")


class Objective(nn.Module):
    """Base: holds the method, freezes what is not in ``trained`` (a list of its sub-modules).
    ``method_type``: the method class this objective trains (checked before it is built)."""

    keys: frozenset[str]
    method_type: ClassVar[type[Method]] = Method
    off_terms: dict[str, str]  # loss terms of the paper's objective that this run cannot compute → why

    def __init__(self, method: Method, trained: Sequence[nn.Module]):
        super().__init__()
        self.method = method
        self.trained = list(trained)
        self.off_terms = {}
        method.requires_grad_(False)
        for module in self.trained:
            module.requires_grad_(True)

    def train(self, mode: bool = True) -> "Objective":
        """Only the trained modules switch to training mode; frozen ones stay in eval mode."""
        self.training = mode
        self.method.eval()
        for module in self.trained:
            module.train(mode)
        return self

    def trainable_parameters(self) -> list[nn.Parameter]:
        return [p for p in self.method.parameters() if p.requires_grad]

    def validation_scores(self, method: Method, batch: Batch) -> dict[str, torch.Tensor] | None:
        """Per-sample scores of what this stage trains, for a stage whose training does not show in the
        method's test-time output (None: validation scores that output). ``method``: the weights validated
        (EMA or current); the ``psnr`` entry ranks the best weights."""
        return None


def trained_modules(method: Method, names: Sequence[str] | None) -> list[nn.Module]:
    """The sub-networks ``names`` of ``method`` (the whole method when None), for an objective's ``train`` option."""
    if names is None:
        return [method]
    missing = [n for n in names if not isinstance(getattr(method, n, None), nn.Module)]
    if missing:
        raise ConfigError(f"method {method.name} has no sub-network {missing[0]!r} to train")
    return [getattr(method, n) for n in names]


@OBJECTIVES.register("pixel")
class PixelObjective(Objective):
    """``loss(method.restore(batch), hr)`` (+ ``perceptual_weight`` · perceptual loss when its weights exist)."""

    def __init__(self, method: Method, loss: str = "l1", train: Sequence[str] | None = None,
                 perceptual: Mapping[str, float] | None = None, perceptual_weight: float = 1.0,
                 vgg19_weights: str | None = None):
        super().__init__(method, trained_modules(method, train))
        self.keys = frozenset(method.requires | {"hr"})
        self.criterion = pixel_loss(loss)
        self.loss_name = loss
        self.perceptual = perceptual_or_none(dict(perceptual), vgg19_weights) if perceptual else None
        if perceptual and self.perceptual is None:
            self.off_terms["perceptual"] = NO_VGG19
        self.perceptual_weight = perceptual_weight

    def forward(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        out = self.method.restore(batch)
        loss = self.criterion(out, batch["hr"])
        logs = {self.loss_name: loss.detach()}
        if self.perceptual is not None:
            term = self.perceptual(out, batch["hr"])
            logs["perceptual"] = term.detach()
            loss = loss + self.perceptual_weight * term
        return loss, logs


def build_objective(name: str, method: Method, options: Mapping, vgg19_weights: str | None = None,
                    discriminators: nn.ModuleDict | None = None) -> Objective:
    """Objective ``name`` for ``method`` with the stage's ``options``; :class:`ConfigError` when the objective
    trains another kind of method or does not take an option. Adversarial objectives take their discriminators
    from the run's ``discriminators`` bank; objectives with a VGG-19 term get ``vgg19_weights``."""
    cls = OBJECTIVES.get(name)
    if not isinstance(method, cls.method_type):
        raise ConfigError(f"objective {name} trains method {cls.method_type.name}, not {method.name}")
    options = dict(options)
    parameters = inspect.signature(cls).parameters
    if "vgg19_weights" in parameters:
        options.setdefault("vgg19_weights", vgg19_weights)
    if "discriminators" in parameters:
        options["discriminators"] = discriminators
    return OBJECTIVES.build(name, method, **options)
