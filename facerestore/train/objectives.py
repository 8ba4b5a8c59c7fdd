"""What each recipe stage trains: the modules it updates, the sample keys it reads and its losses.

An objective is an ``nn.Module`` wrapping the method: ``forward(batch) → (loss, logs)``; the trainer wraps it
in DDP and optimises ``trainable_parameters()``. Modules a stage does not train are frozen (no gradients,
eval mode). The adversarial and guided objectives (Yun & Park, GFRNet: G and D updates) are in
:mod:`facerestore.train.adversarial`.

Stage objectives (``stages[i].objective`` in a recipe, ``options`` as keyword arguments):

* ``pixel``: the method's output against ``hr`` with ``loss`` l1 | l2, training the method attributes
  listed in ``train`` (all when omitted); optional ``perceptual`` {layer: weight} with ``perceptual_weight``.
  FishFSRNet stage "sr" (Wang et al. §IV-B: L1, ``train: [net]``, ParsingNet frozen and predicting the
  parsing map), FSGN (Song et al. §3.1: L2), the baselines (SRCNN, VDSR, SRResNet: MSE as in their papers;
  SPARNet: L1 as in Chen et al.).
* ``fishfsrnet_parsing``: ParsingNet alone with Eq. 2 (L1 to ``parsing_skin`` at LR size), §IV-B.
* ``ufvnet_separate``: UFVNet stage 1 (Peng et al. §III-D): each anchor SR generator on its anchor
  resolution (1/8, 1/4, 1/2 of the HR; LR made from ``hr`` by MATLAB bicubic down and up, as the
  ``ufv_multires`` preset) with Eq. 11 (L1), and the weight regressor on the data's resolutions with the
  Eq. 4 soft targets and Eq. 12. The terms touch disjoint parameters, so one Adam on their sum equals
  separate training of each module.
* ``ufvnet_integrated``: stage 2 (§III-D, Eq. 13): encoders, regressor, F_FE and F_dec trained as a whole
  with ``L_SR + alpha·L_wt`` (alpha 0.1), the anchor decoders dropped.

UFVNet losses are taken in the network's [-1, 1] range, as its SPARNet code base does.
"""
from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import Callable

import torch
from torch import nn

from facerestore.degrade import imresize_torch
from facerestore.errors import ConfigError
from facerestore.losses import parsing_l1, perceptual_or_none, pixel_loss, soft_cross_entropy
from facerestore.methods.base import Method, from_signed, to_signed
from facerestore.metrics import psnr_y_torch
from facerestore.models.ufvnet import anchor_weight_targets

Batch = Mapping[str, torch.Tensor]


class Objective(nn.Module):
    """Base: holds the method, freezes what is not in ``trained`` (a list of its sub-modules)."""

    keys: frozenset[str]

    def __init__(self, method: Method, trained: Sequence[nn.Module]):
        super().__init__()
        self.method = method
        self.trained = list(trained)
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


def _attributes(method: Method, names: Sequence[str] | None) -> list[nn.Module]:
    if names is None:
        return [method]
    missing = [n for n in names if not isinstance(getattr(method, n, None), nn.Module)]
    if missing:
        raise ConfigError(f"method {method.name} has no sub-network {missing[0]!r} to train")
    return [getattr(method, n) for n in names]


class PixelObjective(Objective):
    """``loss(method.restore(batch), hr)`` (+ ``perceptual_weight`` · perceptual loss when its weights exist)."""

    def __init__(self, method: Method, loss: str = "l1", train: Sequence[str] | None = None,
                 perceptual: Mapping[str, float] | None = None, perceptual_weight: float = 1.0,
                 vgg19_weights: str | None = None):
        super().__init__(method, _attributes(method, train))
        self.keys = frozenset(method.requires | {"hr"})
        self.criterion = pixel_loss(loss)
        self.loss_name = loss
        self.perceptual = perceptual_or_none(dict(perceptual), vgg19_weights) if perceptual else None
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


class FishParsingObjective(Objective):
    """FishFSRNet stage 1: ParsingNet(lr) vs ``parsing_skin`` with Eq. 2."""

    def __init__(self, method: Method):
        super().__init__(method, [method.parsing])
        self.keys = frozenset({"lr", "parsing_skin"})

    def forward(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        loss = parsing_l1(self.method.predict_parsing(batch["lr"]), batch["parsing_skin"])
        return loss, {"parsing_l1": loss.detach()}


def _rate(batch: Batch) -> torch.Tensor:
    """Eq. 4's down-sampling rate r = 1 / scale of every sample."""
    return 1.0 / batch["scale"].float()


class UFVNetSeparateObjective(Objective):
    """UFVNet stage 1 (see the module docstring); ``lr_up`` at 128×128 and ``scale`` from ``ufv_multires``."""

    def __init__(self, method: Method):
        net = method.net
        trained = [*net.encoders, *net.anchor_decoders] + ([net.regressor] if net.regressor is not None else [])
        super().__init__(method, trained)
        self.keys = frozenset({"hr", "lr_up", "scale"})

    def forward(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        net, hr = self.method.net, batch["hr"]
        logs: dict[str, torch.Tensor] = {}
        loss = hr.new_zeros(())
        for k, anchor in enumerate(net.anchors):
            lr = imresize_torch(hr, scale=anchor).clamp(0, 1)
            lr_up = imresize_torch(lr, size=tuple(hr.shape[-2:])).clamp(0, 1)
            term = (net.generator(k)(to_signed(lr_up)) - to_signed(hr)).abs().mean()
            logs[f"l_sr_{k}"] = term.detach()
            loss = loss + term
        if net.regressor is not None:
            targets = anchor_weight_targets(_rate(batch), net.anchors).to(hr)
            term = soft_cross_entropy(net.regressor(to_signed(batch["lr_up"])), targets)
            logs["l_wt"] = term.detach()
            loss = loss + term
        return loss, logs

    def validation_scores(self, method: Method, batch: Batch) -> dict[str, torch.Tensor]:
        """What stage 1 trains (§III-D): each anchor SRG on its own rate (``psnr_anchorK`` and the bicubic input's
        ``psnr_bicubic_anchorK``; ``psnr`` their mean) and the regressor's weight error (half the L1 distance of
        its softmax to the Eq. 4 targets, 0 … 1) on the validation inputs' own rates."""
        net, hr = method.net, batch["hr"]
        scores: dict[str, torch.Tensor] = {}
        for k, anchor in enumerate(net.anchors):
            lr_up = imresize_torch(imresize_torch(hr, scale=anchor).clamp(0, 1), size=tuple(hr.shape[-2:])).clamp(0, 1)
            scores[f"psnr_anchor{k}"] = psnr_y_torch(from_signed(net.generator(k)(to_signed(lr_up))).clamp(0, 1), hr)
            scores[f"psnr_bicubic_anchor{k}"] = psnr_y_torch(lr_up, hr)
        scores["psnr"] = torch.stack([scores[f"psnr_anchor{k}"] for k in range(len(net.anchors))]).mean(0)
        if net.regressor is not None:
            weights = net.regressor(to_signed(batch["lr_up"])).softmax(-1)
            targets = anchor_weight_targets(_rate(batch), net.anchors).to(weights)
            scores["weight_error"] = (weights - targets).abs().sum(-1) / 2
        return scores


class UFVNetIntegratedObjective(Objective):
    """UFVNet stage 2 (Eq. 13): ``L_SR + alpha · L_wt`` on the test-time network."""

    def __init__(self, method: Method, alpha: float = 0.1):
        net = method.net
        trained = [*net.encoders, net.decoder] + ([net.regressor] if net.regressor is not None else [])
        super().__init__(method, trained)
        self.keys = frozenset({"hr", "lr_up", "scale"})
        self.alpha = alpha

    def forward(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        net = self.method.net
        rate = _rate(batch)
        out = net.forward_train(to_signed(batch["lr_up"]), rate, upscaled=True)
        l_sr = (out["sr"] - to_signed(batch["hr"])).abs().mean()
        logs = {"l_sr": l_sr.detach()}
        loss = l_sr
        if out["weight_logits"] is not None:
            l_wt = soft_cross_entropy(out["weight_logits"], anchor_weight_targets(rate, net.anchors).to(l_sr))
            logs["l_wt"] = l_wt.detach()
            loss = loss + self.alpha * l_wt
        return loss, logs


OBJECTIVES: dict[str, Callable[..., Objective]] = {
    "pixel": PixelObjective,
    "fishfsrnet_parsing": FishParsingObjective,
    "ufvnet_separate": UFVNetSeparateObjective,
    "ufvnet_integrated": UFVNetIntegratedObjective,
}


def build_objective(name: str, method: Method, options: Mapping, vgg19_weights: str | None = None,
                    discriminators: nn.ModuleDict | None = None) -> Objective:
    """Objective ``name`` for ``method`` with the stage's ``options``; :class:`ConfigError` when they do not fit.
    Adversarial objectives (:mod:`facerestore.train.adversarial`) take their discriminators from the run's
    ``discriminators`` bank; objectives with a VGG-19 term get ``vgg19_weights``."""
    from facerestore.train.adversarial import ADVERSARIAL_OBJECTIVES

    registry = {**OBJECTIVES, **ADVERSARIAL_OBJECTIVES}
    if name not in registry:
        raise ConfigError(f"unknown objective {name!r}; choose one of {sorted(registry)}")
    options = dict(options)
    parameters = inspect.signature(registry[name]).parameters
    if "vgg19_weights" in parameters:
        options.setdefault("vgg19_weights", vgg19_weights)
    if "discriminators" in parameters:
        options["discriminators"] = discriminators
    try:
        return registry[name](method, **options)
    except (TypeError, AttributeError) as error:
        raise ConfigError(f"objective {name} does not fit method {method.name}: {error}") from None
