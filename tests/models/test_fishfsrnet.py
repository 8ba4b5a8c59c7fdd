"""FishFSRNet and ParsingNet: parameter counts (official layouts), shapes at every scale, the official
forward reproduced by ``compat="official"`` (checked against a functional transcription of the official
code on the official tensor names), Table III ablation flags, training and determinism."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from facerestore.errors import ConfigError
from facerestore.models import build_model, count_parameters
from facerestore.models import fishfsrnet, parsingnet

LAYOUTS = Path(__file__).resolve().parents[1] / "fixtures" / "official_checkpoint_layouts"
C = 64
CONV3 = C * C * 9 + C  # one 3×3 64→64 conv with bias


def layout(name: str) -> dict:
    return json.loads((LAYOUTS / f"{name}.json").read_text())


def layout_size(name: str) -> int:
    return sum(torch.Size(shape).numel() for _, shape in layout(name)["tensors"])


# ---------------------------------------------------------------- parameter counts

def test_parsingnet_count_matches_official_layout():
    assert count_parameters(build_model("parsingnet")) == 594_371 == layout_size("parsingnet")


def test_fishfsrnet_x8_paper_count_excludes_unused_official_convs():
    # Official 8,423,683 minus the three unused 1×1 conv_tail (128→64) convs.
    assert count_parameters(build_model("fishfsrnet", scale=8)) == 8_423_683 - 3 * (128 * 64 + 64) == 8_398_915


@pytest.mark.parametrize("scale, name, expected", [(8, "fishfsrnet_x8", 8_423_683), (4, "fishfsrnet_x4", 4_948_419)])
def test_fishfsrnet_official_compat_count(scale, name, expected):
    model = build_model("fishfsrnet", scale=scale, compat="official")
    assert count_parameters(model) == expected == layout(name)["parameters"] == layout_size(name)


PAFBS_X8 = 18  # 3 stages (head, body, tail) × 3 steps × 2 PAFBs
SPATIAL_GATE = (C * 2 * C + 2 * C) + (2 * C * C + C)
CHANNEL_GATE = (C * 16 + 16) + (16 * C + C)
ATTENTION_FUSE = 2 * C * C + C
PARSING_BRANCH = CONV3 + (3 * C * 9 + C) + (2 * C * C * 9 + C) + (2 * C * C + C)


@pytest.mark.parametrize("flag, removed", [
    ("spatial_attention", PAFBS_X8 * (SPATIAL_GATE + ATTENTION_FUSE)),
    ("channel_attention", PAFBS_X8 * (CHANNEL_GATE + ATTENTION_FUSE)),
    ("parsing_branch", PAFBS_X8 * PARSING_BRANCH),
    # Six MSRBs of three Refine blocks (2 residual blocks each) + 192→64 fusion + channel gate,
    # replaced by a 256→64 concatenation fusion.
    ("msrb", 6 * (3 * 4 * CONV3 + (3 * C * C + C) + CHANNEL_GATE - (4 * C * C + C))),
])
def test_table3_ablation_flags_remove_their_parts(flag, removed):
    assert count_parameters(build_model("fishfsrnet", scale=8, **{flag: False})) == 8_398_915 - removed


# ---------------------------------------------------------------- shapes

@pytest.mark.parametrize("scale, lr_size", [(4, 4), (8, 2), (16, 1)])
def test_output_shape_every_scale(scale, lr_size):
    model = build_model("fishfsrnet", scale=scale).eval()
    lr = torch.rand(2, 3, lr_size, lr_size + 1)
    with torch.inference_mode():
        assert model(lr, torch.rand_like(lr)).shape == (2, 3, scale * lr_size, scale * (lr_size + 1))


def test_x16_paper_size_runs_8_to_128():
    model = build_model("fishfsrnet", scale=16).eval()
    lr = torch.rand(1, 3, 8, 8)
    with torch.inference_mode():
        out = model(lr, torch.rand_like(lr))
    assert out.shape == (1, 3, 128, 128) and torch.isfinite(out).all()


def test_parsingnet_keeps_lr_size():
    with torch.inference_mode():
        assert build_model("parsingnet").eval()(torch.rand(2, 3, 16, 12)).shape == (2, 3, 16, 12)


@pytest.mark.parametrize("flags", [dict(msrb=False), dict(spatial_attention=False), dict(channel_attention=False),
                                   dict(spatial_attention=False, channel_attention=False)])
def test_ablations_run(flags):
    model = build_model("fishfsrnet", scale=4, **flags).eval()
    lr = torch.rand(1, 3, 4, 4)
    with torch.inference_mode():
        assert model(lr, lr).shape == (1, 3, 16, 16)


def test_without_parsing_branch_needs_no_parsing_map():
    model = build_model("fishfsrnet", scale=4, parsing_branch=False).eval()
    with torch.inference_mode():
        assert model(torch.rand(1, 3, 4, 4)).shape == (1, 3, 16, 16)


@pytest.mark.parametrize("options", [dict(scale=2), dict(compat="released"), dict(scale=16, compat="official"),
                                     dict(scale=8, compat="official", msrb=False)])
def test_invalid_options_raise_config_error(options):
    with pytest.raises(ConfigError):
        build_model("fishfsrnet", **options)


# ---------------------------------------------------------------- the official forward, transcribed

def fake_official(name: str, seed: int = 0) -> dict[str, torch.Tensor]:
    """Random float64 tensors in the official layout, scaled like a default init so activations stay finite."""
    gen = torch.Generator().manual_seed(seed)
    sd = {}
    for key, shape in layout(name)["tensors"]:
        fan_in = torch.Size(shape[1:]).numel() if len(shape) > 1 else 64
        sd[key] = torch.randn(shape, generator=gen, dtype=torch.float64) / fan_in ** 0.5
    return sd


class Official:
    """Functional transcription of wcy-cs/FishFSRNet ``fsr/fishfsrnet.py`` (x8) and ``fishfsrnet_x4.py``."""

    def __init__(self, sd):
        self.sd = sd

    def conv(self, name, x, stride=1):
        w = self.sd[name + ".weight"]
        return F.conv2d(x, w, self.sd[name + ".bias"], stride=stride, padding=w.shape[-1] // 2)

    def gate(self, name, x):  # cbam.ChannelGate, pool_types avg/max/var
        def mlp(v):
            h = F.relu(F.linear(v, self.sd[name + ".mlp.1.weight"], self.sd[name + ".mlp.1.bias"]))
            return F.linear(h, self.sd[name + ".mlp.3.weight"], self.sd[name + ".mlp.3.bias"])
        mean = x.mean(dim=3, keepdim=True).mean(dim=2, keepdim=True)
        var = (x - mean).pow(2).mean(dim=3).mean(dim=2)
        att = mlp(x.mean((2, 3))) + mlp(x.amax((2, 3))) + mlp(var)
        return x * torch.sigmoid(att)[:, :, None, None]

    def pafb(self, name, x, p):  # common.PCSR1
        res = self.conv(name + ".body.2", F.relu(self.conv(name + ".body.0", x)))
        spatial = res * torch.sigmoid(self.conv(name + ".attention_layer1.spatial_layer3",
                                                F.relu(self.conv(name + ".attention_layer1.spatial_layer1", res))))
        res = self.conv(name + ".conv", torch.cat((spatial, self.gate(name + ".attention_layer2", res)), 1))
        fea = torch.cat((F.relu(self.conv(name + ".conv_feature.0", x)),
                         F.relu(self.conv(name + ".conv_parsing.0", p))), 1)
        return self.conv(name + ".attention_fusion", torch.cat((self.conv(name + ".conv_fusion", fea), res), 1)) + x

    def resblock(self, name, x):
        return self.conv(name + ".body.2", F.relu(self.conv(name + ".body.0", x))) + x

    def refine(self, name, first, second):
        res = self.resblock(name + ".conv.1", self.resblock(name + ".conv.0", second - first))
        return res + second

    def msfb(self, name, scale, earlier, now):  # Multi_scale_fusion_block(4)
        f = list(earlier)
        up = lambda t, k: F.interpolate(t, scale_factor=k, mode="nearest")  # noqa: E731
        down2 = lambda t: self.conv(name + ".down2.2", F.relu(self.conv(name + ".down2.0", t, 2)), 2)  # noqa: E731
        if len(f) == 3:
            if scale == 2:
                f[1], f[2] = self.conv(name + ".down1", f[1], 2), down2(f[2])
            elif scale == 4:
                f[2], f[0] = self.conv(name + ".down1", f[2], 2), up(f[0], 2)
            else:
                f[1], f[0] = up(f[1], 2), up(f[0], 4)
        elif scale == 2:
            f[1] = self.conv(name + ".down1", f[1], 2)
        else:
            f[0] = up(f[0], 2)
        refined = [self.refine(f"{name}.refine{2 ** (j + 1)}", e, now) for j, e in enumerate(f)]
        fea = self.conv(name + ".conv", torch.cat(refined, 1))
        if len(f) == 3:
            return self.gate(name + ".attention", fea) + now
        a = F.relu(self.conv(name + ".attention.body.0", fea))
        a = torch.cat([self.conv(f"{name}.attention.body.2.conv{k}", part)
                       for k, part in zip((1, 3, 5, 7), a.chunk(4, 1))], 1)
        return self.gate(name + ".attention.attention_layer2", a) + fea + now

    def up(self, name, x):
        return F.pixel_shuffle(self.conv(name, x), 2)

    def down(self, name, x):  # invPixelShuffle (view/permute) + conv
        b, c, h, w = x.shape
        x = x.view(b, c, h // 2, 2, w // 2, 2).permute(0, 1, 3, 5, 2, 4).reshape(b, c * 4, h // 2, w // 2)
        return self.conv(name, x)

    def fish(self, name, x, p, second=1):
        return self.pafb(f"{name}.{second}", self.pafb(name + ".0", x, p), p)

    def x8(self, lr, parsing):
        p = {k: F.interpolate(parsing, scale_factor=k, mode="nearest") for k in (2, 4, 8)} | {1: parsing}
        x = self.conv("head.0", lr)
        x1 = self.up("up1.0.0", x)
        x2 = self.up("up2.0.0", self.fish("up_stage1", x1, p[2]))
        x3 = self.up("up3.0.0", self.fish("up_stage2", x2, p[4]))
        x = self.fish("up_stage3", x3, p[8])
        x4 = self.down("down1.0.conv", self.msfb("refine2.0", 8, (x1, x2, x3), x))
        x = self.fish("down_stage1", x4, p[4])
        x5 = self.down("down2.0.conv", self.msfb("refine2.1", 4, (x1, x2, x3), x))
        x = self.fish("down_stage2", x5, p[2])
        x6 = self.down("down3.0.conv", self.msfb("refine2.2", 2, (x1, x2, x3), x))
        x = self.fish("down_stage3", x6, p[1])
        x = self.up("up21.0.0", self.conv("conv", self.msfb("refine2.3", 2, (x6, x5, x4), x)))
        x = self.fish("up2_stage1", x, p[2])
        x = self.up("up22.0.0", self.msfb("refine2.4", 4, (x6, x5, x4), x))
        x = self.fish("up2_stage2", x, p[4])
        x = self.up("up23.0.0", self.msfb("refine2.5", 8, (x6, x5, x4), x))
        x = self.fish("up2_stage3", x, p[8], second=0)  # the official code calls up2_stage3[0] twice
        return self.conv("tail.0", x)

    def x4(self, lr, parsing):
        p = {k: F.interpolate(parsing, scale_factor=k, mode="nearest") for k in (2, 4)} | {1: parsing}
        x = self.conv("head.0", lr)
        x1 = self.up("up1.body.0", x)
        x2 = self.up("up2.body.0", self.fish("up_stage1", x1, p[2]))
        x = self.fish("up_stage2", x2, p[4])
        x5 = self.down("down2.conv", self.msfb("refine2.0", 4, (x1, x2), x))
        x = self.fish("down_stage2", x5, p[2])
        x6 = self.down("down3.conv", self.msfb("refine2.1", 2, (x1, x2), x))
        x = self.fish("down_stage3", x6, p[1])
        x = self.fish("up2_stage1", self.up("up21.body.0", self.msfb("refine2.2", 2, (x6, x5), x)), p[2])
        x = self.fish("up2_stage2", self.up("up22.body.0", self.msfb("refine2.3", 4, (x6, x5), x)), p[4])
        return self.conv("tail.0", x)


@pytest.mark.parametrize("scale", [8, 4])
def test_official_compat_reproduces_official_forward(scale):
    sd = fake_official(f"fishfsrnet_x{scale}")
    model = build_model("fishfsrnet", scale=scale, compat="official").double().eval()
    model.load_state_dict(fishfsrnet.convert_official(sd), strict=True)
    lr, parsing = torch.rand(1, 3, 2, 3, dtype=torch.float64), torch.rand(1, 3, 2, 3, dtype=torch.float64)
    with torch.inference_mode():
        ours = model(lr, parsing)
        reference = getattr(Official(sd), f"x{scale}")(lr, parsing)
    assert ours.shape == (1, 3, 2 * scale, 3 * scale)
    torch.testing.assert_close(ours, reference, rtol=1e-9, atol=1e-9)


def test_paper_mode_uses_the_second_pafb_of_the_last_fish_block():
    for compat, changes in (("paper", True), ("official", False)):
        model = build_model("fishfsrnet", scale=8, compat=compat).eval()
        lr = torch.rand(1, 3, 2, 2)
        with torch.inference_mode():
            before = model(lr, lr)
            model.fish_tail[-1].fish.second.conv1.weight.add_(1.0)
            after = model(lr, lr)
        assert (not torch.equal(before, after)) == changes


def test_parsingnet_converter_gives_official_forward():
    sd = fake_official("parsingnet")
    model = build_model("parsingnet").double().eval()
    model.load_state_dict(parsingnet.convert_official(sd), strict=True)
    lr = torch.rand(1, 3, 8, 8, dtype=torch.float64)
    ref = Official(sd)
    x = ref.conv("head.0", lr)
    for i in range(8):  # common.ResBlock with res_scale 0.2
        x = x + 0.2 * ref.conv(f"body.{i}.body.2", F.relu(ref.conv(f"body.{i}.body.0", x)))
    with torch.inference_mode():
        torch.testing.assert_close(model(lr), ref.conv("feature.0", x), rtol=1e-9, atol=1e-9)


# ---------------------------------------------------------------- training and determinism

@pytest.mark.parametrize("name, options", [("fishfsrnet", dict(scale=4)), ("parsingnet", {})])
def test_training_step_reduces_l1_loss(name, options):
    model = build_model(name, **options).train()
    lr = torch.rand(2, 3, 3, 3)
    target = torch.rand(2, 3, 12, 12) if name == "fishfsrnet" else torch.rand(2, 3, 3, 3)
    inputs = (lr, torch.rand(2, 3, 3, 3)) if name == "fishfsrnet" else (lr,)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-4)
    losses = []
    for _ in range(6):
        loss = F.l1_loss(model(*inputs), target)  # Eq. 2 / Eq. 21
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.9 * losses[0]


def test_eval_output_is_deterministic():
    model = build_model("fishfsrnet", scale=8).eval()
    lr = torch.rand(1, 3, 4, 4)
    with torch.inference_mode():
        assert torch.equal(model(lr, lr), model(lr, lr))


def test_residual_quick_variant_starts_from_matlab_bicubic_and_width_is_an_option():
    from facerestore.degrade import imresize_torch
    from facerestore.methods import build_method

    torch.manual_seed(0)
    method = build_method("fishfsrnet", scale=4, channels=8, residual=True).eval()
    assert method.net.head.out_channels == 8
    lr = torch.rand(2, 3, 8, 8)
    with torch.no_grad():
        assert torch.allclose(method.restore({"lr": lr}), imresize_torch(lr, scale=4), atol=0)
    plain = build_method("fishfsrnet", scale=4, channels=8).eval()
    with torch.no_grad():
        assert not torch.allclose(plain.restore({"lr": lr}), imresize_torch(lr, scale=4), atol=1e-2)
