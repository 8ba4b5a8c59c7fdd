"""UFVNet (Peng et al.): one model for LR faces of any resolution, HR 128×128, values in [-1, 1] inside; its two
training stages (§III-D), whose losses are taken in the network's [-1, 1] range as its SPARNet code base does."""
from __future__ import annotations

from collections.abc import Mapping

import torch

from facerestore.degrade import imresize_torch
from facerestore.degrade.presets import UFV_RATE_SETS
from facerestore.errors import ConfigError
from facerestore.losses import soft_cross_entropy
from facerestore.methods.base import Method, from_signed, register_method, to_signed
from facerestore.methods.objective import OBJECTIVES, Batch, Objective
from facerestore.metrics import psnr_y_torch
from facerestore.models import build_model
from facerestore.models.ufvnet import anchor_weight_targets


@register_method
class UFVNetMethod(Method):
    """``lr`` at its own size (8×8 … 64×64 and beyond); the network upsamples to 128×128 itself (§III)."""

    name = "ufvnet"
    requires = frozenset({"lr"})
    native_lr_range = (8, 128)  # the default weights are trained on 8 … 128 px faces (factors 1 … 16)
    network = "ufvnet"

    def __init__(self, hr_size: int = 128, **options):
        super().__init__(hr_size=hr_size, scale=None)
        self.net = build_model("ufvnet", **options)

    @classmethod
    def inference_options(cls, options: Mapping) -> dict:
        """The anchor decoders serve the separate training stage only (§III-D): the test-time network drops them."""
        return {**options, "anchor_decoders": False}

    def restore(self, sample: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return from_signed(self.net(to_signed(sample["lr"])))


def _rate(batch: Batch) -> torch.Tensor:
    """Eq. 4's down-sampling rate r = 1 / scale of every sample."""
    return 1.0 / batch["scale"].float()


def down_up(hr: torch.Tensor, rate: float) -> torch.Tensor:
    """``hr`` MATLAB-bicubic down to ``rate`` × its size and back up, clipped: the ``ufv_multires`` input."""
    return imresize_torch(imresize_torch(hr, scale=rate).clamp(0, 1), size=tuple(hr.shape[-2:])).clamp(0, 1)


@OBJECTIVES.register("ufvnet_separate")
class UFVNetSeparateObjective(Objective):
    """UFVNet stage 1 (§III-D): each anchor SR generator on its anchor resolution (1/8, 1/4, 1/2 of the HR; LR
    made from ``hr`` by MATLAB bicubic down and up, as the ``ufv_multires`` preset) with Eq. 11 (L1), and the
    weight regressor with the Eq. 4 soft targets and Eq. 12 on ``regressor_rates``: §III-D trains it on all
    eight rates 1/16 … 8/16 (``"MR8"``, the default), whatever rates the training set of stage 2 has (MR3,
    MR7); each face of a batch draws one rate (torch's RNG, saved in checkpoints) and is degraded from ``hr``
    as ``ufv_multires`` does. ``regressor_rates=None``: the data's own ``lr_up`` and ``scale`` instead. The terms
    touch disjoint parameters, so one Adam on their sum equals separate training of each module."""

    method_type = UFVNetMethod

    def __init__(self, method: Method, regressor_rates: str | None = "MR8"):
        net = method.net
        trained = [*net.encoders, *net.anchor_decoders] + ([net.regressor] if net.regressor is not None else [])
        super().__init__(method, trained)
        self.keys = frozenset({"hr", "lr_up", "scale"})
        if regressor_rates is not None and regressor_rates not in UFV_RATE_SETS:
            raise ConfigError(f"regressor_rates must be one of {sorted(UFV_RATE_SETS)} or null, "
                              f"got {regressor_rates!r}")
        self.regressor_rates = None if regressor_rates is None else UFV_RATE_SETS[regressor_rates]

    def regressor_inputs(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        """(``lr_up`` in [0, 1], rate r) of every face for the regressor term (see the class docstring)."""
        if self.regressor_rates is None:
            return batch["lr_up"], _rate(batch)
        hr = batch["hr"]
        picks = torch.randint(len(self.regressor_rates), (hr.shape[0],)).tolist()
        lr_up = torch.stack([down_up(hr[i:i + 1], self.regressor_rates[k])[0] for i, k in enumerate(picks)])
        return lr_up, torch.tensor([self.regressor_rates[k] for k in picks], device=hr.device)

    def forward(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        net, hr = self.method.net, batch["hr"]
        logs: dict[str, torch.Tensor] = {}
        loss = hr.new_zeros(())
        for k, anchor in enumerate(net.anchors):
            term = (net.generator(k)(to_signed(down_up(hr, anchor))) - to_signed(hr)).abs().mean()
            logs[f"l_sr_{k}"] = term.detach()
            loss = loss + term
        if net.regressor is not None:
            lr_up, rate = self.regressor_inputs(batch)
            targets = anchor_weight_targets(rate, net.anchors).to(hr)
            term = soft_cross_entropy(net.regressor(to_signed(lr_up)), targets)
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
            lr_up = down_up(hr, anchor)
            scores[f"psnr_anchor{k}"] = psnr_y_torch(from_signed(net.generator(k)(to_signed(lr_up))).clamp(0, 1), hr)
            scores[f"psnr_bicubic_anchor{k}"] = psnr_y_torch(lr_up, hr)
        scores["psnr"] = torch.stack([scores[f"psnr_anchor{k}"] for k in range(len(net.anchors))]).mean(0)
        if net.regressor is not None:
            weights = net.regressor(to_signed(batch["lr_up"])).softmax(-1)
            targets = anchor_weight_targets(_rate(batch), net.anchors).to(weights)
            scores["weight_error"] = (weights - targets).abs().sum(-1) / 2
        return scores


@OBJECTIVES.register("ufvnet_integrated")
class UFVNetIntegratedObjective(Objective):
    """UFVNet stage 2 (§III-D, Eq. 13): encoders, regressor, F_FE and F_dec trained as a whole with
    ``L_SR + alpha·L_wt`` (alpha 0.1), the anchor decoders dropped."""

    method_type = UFVNetMethod

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
