"""CPU forward time, peak memory and achieved GFLOP/s of every network at its paper size.

For each model and batch size: the plain eval forward (``torch.no_grad``, the in-run baseline), the tuned
fp32 path (:func:`facerestore.models.inference.prepare_for_inference` — BatchNorm folded, convolution weights
prepacked, gradients off —
under ``torch.inference_mode``, contiguous or channels_last: both are timed at the first batch size and
the faster by CPU time is kept) and the tuned bf16 path (``torch.autocast("cpu", dtype=torch.bfloat16)``
on the prepared model with its conv/linear weights stored in bf16, memory format picked the same way). Beside them, the machine's measured fp32/bf16 matmul
and conv peaks in the same run. Times are medians after one warm-up call, wall and process CPU time.

Inputs are synthetic faces (:mod:`facerestore.synth`) degraded by bicubic downscaling; weights are random
(no trained weights exist yet), so ``PSNR bf16`` is the PSNR of the bf16 output against our fp32 output
of the same random-init model, not a quality figure. ``max|Δ| fp32`` compares the tuned fp32 path with
the plain forward (all output tensors). FLOPs are 2 × multiply-accumulates of every Conv2d,
ConvTranspose2d and Linear (forward hooks).

    .venv/bin/python benchmarks/bench_models.py [--models a,b] [--batch 1,16] [--repeats 7] [--json OUT] [--quick]
"""
from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import sys

# OpenMP's wait policy is left to the environment (reported with the results): spinning threads (the
# default) are fastest on an idle machine; on a shared one (load above the core count) they wait for
# descheduled siblings, and OMP_WAIT_POLICY=PASSIVE is the better choice there.
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import Timing, measure, peak_rss_delta, return_freed_memory_to_os  # noqa: E402

from facerestore.degrade.resize import imresize_torch  # noqa: E402
from facerestore.face.priors import component_masks, fish_parsing  # noqa: E402
from facerestore.models import build_model  # noqa: E402
from facerestore.models.inference import cast_weights, prepare_for_inference  # noqa: E402
from facerestore.synth import render_face  # noqa: E402

FACE_SIZE = 256
SONG_SIZE = (320, 240)  # Song et al. §4: 320×240 ground truth


@dataclass
class Faces:
    """A batch of synthetic faces at 256×256: images N×3×H×W in [0, 1], landmarks and label maps."""

    hr: torch.Tensor
    landmarks: list[np.ndarray]
    parsing: list[np.ndarray]

    @classmethod
    def render(cls, count: int) -> "Faces":
        faces = [render_face(0, index, FACE_SIZE) for index in range(count)]
        hr = torch.from_numpy(np.stack([f.image for f in faces])).permute(0, 3, 1, 2).contiguous()
        return cls(hr, [f.landmarks for f in faces], [f.parsing for f in faces])

    def down(self, size: int) -> torch.Tensor:
        return imresize_torch(self.hr, size=(size, size)).clamp(0, 1)


def _signed(x: torch.Tensor) -> torch.Tensor:
    return x * 2 - 1


def _lr_up(faces: Faces, hr_size: int, scale: int) -> torch.Tensor:
    return imresize_torch(faces.down(hr_size // scale), size=(hr_size, hr_size)).clamp(0, 1)


def _fish_inputs(faces: Faces) -> tuple[torch.Tensor, ...]:
    parsing = np.stack([fish_parsing(p, 16) for p in faces.parsing])
    return faces.down(16), torch.from_numpy(parsing)


def _gfrnet_inputs(faces: Faces) -> tuple[torch.Tensor, ...]:
    guide = faces.hr.roll(1, dims=0)  # another face stands in for the same-identity guide
    return _signed(_lr_up(faces, FACE_SIZE, 4)), _signed(guide)


def _fsgn_inputs(faces: Faces) -> tuple[torch.Tensor, ...]:
    height, width = SONG_SIZE
    hr = imresize_torch(faces.hr, size=SONG_SIZE).clamp(0, 1)
    lr_up = imresize_torch(imresize_torch(hr, scale=0.25), size=SONG_SIZE).clamp(0, 1)
    stretch = np.array([width / FACE_SIZE, height / FACE_SIZE], dtype=np.float32)
    masks = np.stack([component_masks(points * stretch, SONG_SIZE) for points in faces.landmarks])
    return lr_up, torch.from_numpy(masks)


def _patchgan_inputs(faces: Faces) -> tuple[torch.Tensor, ...]:
    return (_signed(torch.cat((_lr_up(faces, FACE_SIZE, 8), faces.hr), dim=1)),)


@dataclass(frozen=True)
class Case:
    """A model at its paper size: builder options, inputs from the faces, output range (None: the fp32
    output's peak-to-peak) and the official implementation's fp32 batch-1 time measured on this machine."""

    model: str
    size: str
    inputs: Callable[[Faces], tuple[torch.Tensor, ...]]
    options: dict = field(default_factory=dict)
    out_range: float | None = 1.0
    official_ms: float | None = None
    max_batch: int = 1024


CASES = {
    "fishfsrnet": Case("fishfsrnet", "16→128 ×8", _fish_inputs, {"scale": 8}, official_ms=300),
    "parsingnet": Case("parsingnet", "16", lambda f: (f.down(16),)),
    "sparnet": Case("sparnet", "128", lambda f: (_signed(_lr_up(f, 128, 8)),), out_range=2.0, official_ms=90),
    "sparnet_light_attn3d": Case("sparnet_light_attn3d", "128", lambda f: (_signed(_lr_up(f, 128, 8)),),
                                 out_range=2.0, official_ms=68),
    "ufvnet": Case("ufvnet", "16→128", lambda f: (_signed(f.down(16)),), {"anchor_decoders": False}, out_range=2.0),
    "gfrnet_warpnet": Case("gfrnet_warpnet", "2×256", _gfrnet_inputs, out_range=2.0, official_ms=211),
    "gfrnet": Case("gfrnet", "2×256", _gfrnet_inputs, out_range=2.0),
    "yun_park": Case("yun_park", "32→256", lambda f: (_signed(f.down(32)),), out_range=2.0, official_ms=134),
    "patchgan": Case("patchgan", "6×256", _patchgan_inputs, {"in_channels": 6}, out_range=None),
    # 290 GFLOP per face: batch 16 would take minutes per forward.
    "fsgn": Case("fsgn", "320×240", _fsgn_inputs, max_batch=1),
    "srcnn": Case("srcnn", "128", lambda f: (_lr_up(f, 128, 4),)),
    "vdsr": Case("vdsr", "128", lambda f: (_lr_up(f, 128, 4),)),
    "srresnet": Case("srresnet", "32→128", lambda f: (f.down(32),), {"scale": 4}),
}
QUICK = ("parsingnet", "srcnn", "sparnet_light_attn3d")


def count_flops(model: nn.Module, inputs: tuple[torch.Tensor, ...]) -> int:
    """2 × multiply-accumulates of every Conv2d, ConvTranspose2d and Linear in one forward."""
    total = 0

    def hook(module: nn.Module, args: tuple, output: torch.Tensor) -> None:
        nonlocal total
        if isinstance(module, nn.Linear):
            macs = output.numel() * module.in_features
        else:
            per_element = module.out_channels if isinstance(module, nn.ConvTranspose2d) else module.in_channels
            taps = per_element // module.groups * math.prod(module.kernel_size)
            # Conv: every output element sums in/groups × k² products; transposed conv: every input
            # element is scattered into out/groups × k² outputs.
            macs = (args[0] if isinstance(module, nn.ConvTranspose2d) else output).numel() * taps
        total += 2 * macs

    layers = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)
    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, layers)]
    try:
        with torch.inference_mode():
            model(*inputs)
    finally:
        for handle in handles:
            handle.remove()
    return total


def _tensors(output: object) -> list[torch.Tensor]:
    items = output if isinstance(output, (tuple, list)) else (output,)
    return [t for t in items if isinstance(t, torch.Tensor)]


def _psnr(test: torch.Tensor, reference: torch.Tensor, data_range: float | None) -> float:
    peak = float(reference.max() - reference.min()) if data_range is None else data_range
    mse = float(((test.float() - reference) ** 2).mean())
    return math.inf if mse == 0 else 10 * math.log10(peak**2 / mse)


def _to_format(inputs: tuple[torch.Tensor, ...], channels_last: bool) -> tuple[torch.Tensor, ...]:
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    return tuple(x.contiguous(memory_format=fmt) if x.dim() == 4 else x for x in inputs)


def _runner(model: nn.Module, inputs: tuple[torch.Tensor, ...], mode: str) -> Callable[[], object]:
    """``plain``: eval forward under no_grad; ``fp32``: inference_mode; ``bf16``: inference_mode + autocast."""

    def run() -> object:
        if mode == "plain":
            with torch.no_grad():
                return model(*inputs)
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=mode == "bf16"):
            return model(*inputs)

    return run


@dataclass
class Row:
    model: str
    size: str
    batch: int
    gflop: float
    plain: Timing
    fp32: Timing
    fp32_format: str
    bf16: Timing
    bf16_format: str
    fp32_peak_mb: float | None
    bf16_peak_mb: float | None
    fp32_max_abs_diff: float
    bf16_psnr_db: float
    official_ms: float | None


def _formatted(model: nn.Module, inputs: tuple[torch.Tensor, ...], channels_last: bool) -> tuple[torch.Tensor, ...]:
    model.to(memory_format=torch.channels_last if channels_last else torch.contiguous_format)
    return _to_format(inputs, channels_last)


def _profile(run: Callable[[], object], repeats: int, min_runs: int, budget_s: float
             ) -> tuple[Timing, float | None, list[torch.Tensor]]:
    """Timing after one warm-up call, which also gives the peak memory (MiB) and the output tensors."""
    outputs: list[list[torch.Tensor]] = []
    delta = peak_rss_delta(lambda: outputs.append(_tensors(run())))
    timing = measure(run, repeats=repeats, warmup=0, min_runs=min_runs, budget_s=budget_s)
    return timing, None if delta is None else delta / 2**20, outputs[0]


def bench_case(case: Case, batches: list[int], repeats: int, budget_s: float) -> list[Row]:
    """Plain, tuned fp32 and bf16 timings of ``case`` at every batch size. The memory format of each tuned
    path is picked at the first batch size by CPU time (robust to load from other processes)."""
    torch.manual_seed(0)
    model = build_model(case.model, **case.options).eval()
    batches = [b for b in batches if b <= case.max_batch]
    faces = Faces.render(max(batches))
    inputs = {b: tuple(x[:b] for x in case.inputs(faces)) for b in batches}
    min_runs = {b: 3 if b == 1 else 2 for b in batches}
    gflop = {b: count_flops(model, inputs[b]) / 1e9 for b in batches}
    plain = {b: _profile(_runner(model, inputs[b], "plain"), repeats, min_runs[b], budget_s) for b in batches}
    results: dict[str, dict[int, tuple]] = {"fp32": {}, "bf16": {}}
    formats: dict[str, bool] = {}
    prepare_for_inference(model)
    for mode in ("fp32", "bf16"):
        if mode == "bf16":
            cast_weights(model, torch.bfloat16)
        for b in batches:
            if b == batches[0]:
                candidates = {cl: _profile(_runner(model, _formatted(model, inputs[b], cl), mode), repeats,
                                           min_runs[b], budget_s) for cl in (False, True)}
                formats[mode] = min(candidates, key=lambda cl: candidates[cl][0].cpu_s)
                results[mode][b] = candidates[formats[mode]]
            else:
                run = _runner(model, _formatted(model, inputs[b], formats[mode]), mode)
                results[mode][b] = _profile(run, repeats, min_runs[b], budget_s)
    rows = []
    for b in batches:
        (fp32, fp32_peak, fp32_out), (bf16, bf16_peak, bf16_out) = results["fp32"][b], results["bf16"][b]
        rows.append(Row(
            case.model, case.size, b, gflop[b], plain[b][0], fp32, "CL" if formats["fp32"] else "NCHW",
            bf16, "CL" if formats["bf16"] else "NCHW", fp32_peak, bf16_peak,
            max(float((o - r).abs().max()) for o, r in zip(fp32_out, plain[b][2])),
            _psnr(bf16_out[0], fp32_out[0], case.out_range), case.official_ms if b == 1 else None,
        ))
    return rows


def machine_peaks(repeats: int) -> dict[str, float]:
    """Measured GFLOP/s of a 2048² matmul and a 64→64 3×3 conv on 4×64×128×128 (channels_last), fp32 and bf16."""
    n = 2048
    a, b = torch.randn(n, n), torch.randn(n, n)
    conv = nn.Conv2d(64, 64, 3, padding=1).eval().requires_grad_(False).to(memory_format=torch.channels_last)
    x = torch.randn(4, 64, 128, 128).contiguous(memory_format=torch.channels_last)
    conv_flop = 2 * x.numel() * 64 * 9
    peaks = {}
    with torch.inference_mode():
        for label, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
            a_, b_ = a.to(dtype), b.to(dtype)
            peaks[f"matmul {label}"] = 2 * n**3 / measure(lambda: a_ @ b_, repeats).wall_s / 1e9
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=label == "bf16"):
                peaks[f"conv {label}"] = conv_flop / measure(lambda: conv(x), repeats).wall_s / 1e9
    return peaks


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.0f}" if seconds >= 0.1 else f"{seconds * 1e3:.1f}"


def _mb(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}"


def _ratio(official_ms: float | None, timing: Timing) -> str:
    return "—" if official_ms is None else f"{official_ms / 1e3 / timing.wall_s:.2f}"


def markdown(rows: list[Row], peaks: dict[str, float]) -> str:
    lines = [
        "| machine peak | " + " | ".join(peaks) + " |",
        "|---|" + "---:|" * len(peaks),
        "| GFLOP/s | " + " | ".join(f"{v:.0f}" for v in peaks.values()) + " |",
        "",
        "| model | input | batch | GFLOP | plain ms | fp32 ms (CPU ms) | fmt | ×plain | ×official | GFLOP/s "
        "| bf16 ms (CPU ms) | fmt | ×official | GFLOP/s | peak MB fp32 / bf16 | max\\|Δ\\| fp32 | PSNR bf16 dB |",
        "|---|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.model} | {r.size} | {r.batch} | {r.gflop:.1f} | {_ms(r.plain.wall_s)} "
            f"| {_ms(r.fp32.wall_s)} ({_ms(r.fp32.cpu_s)}) | {r.fp32_format} | {r.plain.wall_s / r.fp32.wall_s:.2f} "
            f"| {_ratio(r.official_ms, r.fp32)} | {r.gflop / r.fp32.wall_s:.0f} "
            f"| {_ms(r.bf16.wall_s)} ({_ms(r.bf16.cpu_s)}) | {r.bf16_format} | {_ratio(r.official_ms, r.bf16)} "
            f"| {r.gflop / r.bf16.wall_s:.0f} | {_mb(r.fp32_peak_mb)} / {_mb(r.bf16_peak_mb)} "
            f"| {r.fp32_max_abs_diff:.1e} | {r.bf16_psnr_db:.1f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(CASES), help=f"comma-separated, from {', '.join(CASES)}")
    parser.add_argument("--batch", default="1,16", help="comma-separated batch sizes")
    parser.add_argument("--repeats", type=int, default=7, help="timed calls per measurement (fewer when slow)")
    parser.add_argument("--budget", type=float, default=4.0, help="seconds of timed calls per measurement")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument("--exact-memory", action="store_true",
                        help="serve every allocation > 64 KiB by mmap so that peak memory is exact and repeatable "
                             "(slows the timings: every intermediate tensor is then mapped and faulted in anew)")
    parser.add_argument("--quick", action="store_true", help=f"smoke run: {', '.join(QUICK)}, batch 1, 3 repeats")
    args = parser.parse_args()
    models = list(QUICK) if args.quick else args.models.split(",")
    batches = [1] if args.quick else [int(b) for b in args.batch.split(",")]
    repeats = 3 if args.quick else args.repeats
    unknown = sorted(set(models) - set(CASES))
    if unknown:
        parser.error(f"unknown models {unknown}; choose from {', '.join(CASES)}")
    torch.set_num_threads(args.threads)
    if args.exact_memory:
        return_freed_memory_to_os()
    load_before = os.getloadavg()
    peaks = machine_peaks(repeats)
    rows = []
    for name in models:
        rows += bench_case(CASES[name], batches, repeats, args.budget)
        print(f"done {name}", file=sys.stderr, flush=True)
    load_after = os.getloadavg()
    header = (f"{datetime.date.today()}, torch {torch.__version__}, {args.threads} threads, "
              f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', 'default')}, "
              f"{'exact (mmap) memory' if args.exact_memory else 'default malloc'}, median of ≤{repeats} after 1 warm-up; "
              f"load average (1 min) {load_before[0]:.1f} before, {load_after[0]:.1f} after")
    print(header + "\n\n" + markdown(rows, peaks))
    if args.json:
        args.json.write_text(json.dumps({"header": header, "peaks": peaks, "rows": [asdict(r) for r in rows]},
                                        indent=1))


if __name__ == "__main__":
    main()
