"""The adversarial machinery of Yun & Park's and GFRNet's objectives (their objectives live with their methods).

The discriminators of a run live in one :class:`Discriminators` bank owned by the trainer: a stage's
objective asks for the ones it uses by name (created the first time, with the architecture options of that
stage), so they persist across stages and can join at a later stage (Yun & Park §4: G + global D first, then
the local D). An :class:`AdversarialObjective` returns ``(generator loss, logs, discriminator loss or None)``;
the trainer updates the generator with its optimizer, then the discriminators with theirs (``d_optimizer``),
both from the same forward pass: the generator's adversarial terms are computed with the discriminators
frozen (as they were before this iteration's update), the discriminators' terms on the detached outputs.
Losses are taken in the networks' [-1, 1] range; a VGG-19 term sees [0, 1] images.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import nn

from facerestore.errors import ConfigError
from facerestore.losses import GANLoss
from facerestore.methods.base import Method
from facerestore.methods.objective import Objective
from facerestore.models import build_model


# A discriminator spec's ``arch`` → the registered model it builds (:mod:`facerestore.models.discriminators`).
DISCRIMINATOR_ARCHS = {"patchgan": "patchgan", "yun_park": "yun_park_discriminator"}
# The arch of a spec without one: GFRNet's specs, and every checkpoint written before specs had ``arch``.
DEFAULT_ARCH = "patchgan"


def _with_arch(spec: Mapping) -> dict:
    """``spec`` with its ``arch`` made explicit (what a comparison of two specs must see)."""
    return {"arch": DEFAULT_ARCH, **spec}


class Discriminators(nn.ModuleDict):
    """The run's discriminators by name and the options each was built with (``specs``, saved in checkpoints so
    that a resumed run rebuilds them).

    A spec is ``{arch: patchgan | yun_park, **build options}`` (:data:`DISCRIMINATOR_ARCHS`); a spec without
    ``arch`` means a PatchGAN (:data:`DEFAULT_ARCH`), so GFRNet's specs, which name none, and checkpoints
    from before ``arch`` existed keep building the same network. Specs are stored as given."""

    def __init__(self):
        super().__init__()
        self.specs: dict[str, dict] = {}

    def ensure(self, name: str, spec: Mapping) -> nn.Module:
        """Discriminator ``name``: the existing one, or a new one built from ``spec``; a different spec for an
        existing name (a missing ``arch`` counts as ``patchgan``) is a :class:`ConfigError`."""
        spec = dict(spec)
        if name in self:
            old, new = _with_arch(self.specs[name]), _with_arch(spec)
            if old != new:
                hint = ("; a spec without arch is a PatchGAN (checkpoints from before specs had arch hold PatchGANs: "
                        "resume them with arch patchgan, for Yun & Park the stages' option d_arch: patchgan)"
                        if "arch" not in self.specs[name] and old["arch"] != new["arch"] else "")
                raise ConfigError(f"discriminator {name!r} exists with {self.specs[name]}, a stage asks for "
                                  f"{spec}{hint}")
            return self[name]
        arch = spec.get("arch", DEFAULT_ARCH)
        if arch not in DISCRIMINATOR_ARCHS:
            raise ConfigError(f"discriminator {name!r}: arch must be one of {sorted(DISCRIMINATOR_ARCHS)}, "
                              f"got {arch!r}")
        options = {key: value for key, value in spec.items() if key != "arch"}
        self[name] = build_model(DISCRIMINATOR_ARCHS[arch], **options)
        self.specs[name] = spec
        return self[name]


class AdversarialObjective(Objective):
    """Base of the objectives with discriminators: ``used`` names the ones this stage trains."""

    def __init__(self, method: Method, trained: Sequence[nn.Module], discriminators: Discriminators | None,
                 specs: Mapping[str, Mapping], gan: GANLoss):
        super().__init__(method, trained)
        if specs and discriminators is None:
            raise ConfigError(f"objective {type(self).__name__} needs the trainer's discriminators")
        self.discriminators = discriminators if discriminators is not None else Discriminators()
        self.used = [name for name in specs]
        for name, spec in specs.items():
            self.discriminators.ensure(name, spec).requires_grad_(True)
        self.gan = gan

    def discriminator_parameters(self) -> list[nn.Parameter]:
        return [p for name in self.used for p in self.discriminators[name].parameters()]

    def train(self, mode: bool = True) -> "AdversarialObjective":
        super().train(mode)
        for name in self.used:
            self.discriminators[name].train(mode)
        return self

    def adversarial(self, name: str, fake: torch.Tensor, real: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(generator term with D ``name`` frozen, discriminator term on ``real`` and detached ``fake``)."""
        d = self.discriminators[name]
        d.requires_grad_(False)
        g_term = self.gan.g_loss(d(fake))
        d.requires_grad_(True)
        return g_term, self.gan.d_loss(d(real), d(fake.detach()))


def sum_terms(terms: list[torch.Tensor]) -> torch.Tensor | None:
    return torch.stack(terms).sum() if terms else None
