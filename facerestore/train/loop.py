"""The iteration-based trainer: runs a recipe's stages in order (each from the previous stage's weights,
its EMA when it kept one), with optimizer / LR schedule / gradient clipping / EMA from the recipe, bf16
autocast on CUDA, optional ``torch.compile``, DDP under torchrun, periodic validation (PSNR/SSIM on Y,
optional dlib identity), atomic checkpoints and exact resumption on CPU.

Adversarial stages (:mod:`.adversarial`) alternate a generator update (the stage's ``optimizer`` /
``scheduler``) and a discriminator update (``d_optimizer`` / ``d_scheduler``) every iteration; the
discriminators belong to the run, persist across its stages and are checkpointed with their optimizer.
A ``plateau`` schedule multiplies the lr by ``gamma`` when a validation loss stops decreasing (GFRNet §4.2).

Output folder: ``config.yaml`` (resolved recipe), ``checkpoints/`` (:mod:`.checkpoint`), ``<stage>.safetensors``
after each stage, ``final.safetensors`` after the last, ``best_<stage>.safetensors`` (best validation PSNR),
``scalars.csv``, ``grids/``, ``train.log`` (:mod:`.logging`).
"""
from __future__ import annotations

import contextlib
import copy
import math
import random
import signal
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from facerestore.data.sample import collate_samples
from facerestore.errors import ConfigError, FaceRestoreError
from facerestore.methods import Method, build_method
from facerestore.methods.metadata import info_for_recipe
from facerestore.methods.baselines import BicubicMethod
from facerestore.metrics import psnr_y_torch, ssim_y_torch
from facerestore.models.weights import check_shapes, load_weights_file, save_weights_file
from facerestore.train.adversarial import AdversarialObjective, Discriminators
from facerestore.train.checkpoint import latest_checkpoint, load_checkpoint, rng_states, save_checkpoint, set_rng_states
from facerestore.train.config import save_config
from facerestore.train.datasets import EpochSamples, ResumableBatches, build_source
from facerestore.train.distributed import DistInfo, barrier, init_distributed, mean_over_ranks, resolve_device
from facerestore.train.ema import EMA
from facerestore.train.logging import RunLogger, comparison_grid
from facerestore.train.objectives import Objective, build_objective
from facerestore.train.run_folder import prepare_run_folder


class TrainingInterrupted(FaceRestoreError):
    """SIGINT/SIGTERM: a checkpoint was saved; ``--resume auto`` continues."""

    exit_code = 130


class NonFiniteLossError(FaceRestoreError):
    """The loss became NaN/Inf; the run stopped without saving, the last good checkpoint is kept."""


Hook = Callable[["Trainer", int, int], None]


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
    """Feed a validation loss to a plateau schedule and apply a changed factor at once."""
    plateau = scheduler.lr_lambdas[0]
    if isinstance(plateau, Plateau) and plateau.observe(value):
        for group, base in zip(scheduler.optimizer.param_groups, scheduler.base_lrs):
            group["lr"] = base * plateau.factor
        scheduler._last_lr = [group["lr"] for group in scheduler.optimizer.param_groups]


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


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


class Trainer:
    """Runs ``config`` (validated, :func:`facerestore.train.config.load_config`) into ``out_dir``.

    ``resume``: ``None``, ``"auto"`` (newest checkpoint in ``out_dir``) or a state file path; without it a
    folder that holds a run is refused unless ``overwrite`` (:func:`facerestore.train.run_folder.prepare_run_folder`).
    ``hooks`` are called as ``hook(trainer, stage_index, iteration)`` after every iteration (tests use them to
    interrupt).
    """

    def __init__(self, config: dict, out_dir: str | Path, device: str = "cpu", resume: str | None = None,
                 hooks: Sequence[Hook] = (), overwrite: bool = False):
        self.config = config
        self.out = Path(out_dir)
        self.device_name = device
        self.resume = resume
        self.overwrite = overwrite
        self.hooks = list(hooks)
        self.stop_requested = False
        self.last_checkpoint: Path | None = None
        self.warnings: list[str] = []
        self.dist = DistInfo()

    # ----------------------------------------------------------------- public
    def run(self) -> Path:
        """Train every stage; returns the path of ``final.safetensors``."""
        self.dist = init_distributed(self.device_name)
        self.device = resolve_device(self.device_name, self.dist)
        prepare_run_folder(self.out, self.resume, self.overwrite, clear=self.dist.is_main)
        barrier(self.dist)
        cfg = self.config
        seed_everything(cfg["seed"])
        self.method = build_method(cfg["method"]["name"], **cfg["method"]["options"]).to(self.device)
        self.metadata = info_for_recipe(cfg, self.method.hr_size, self.method.scale).to_metadata()
        self.discriminators = Discriminators()
        if cfg["train"]["channels_last"]:
            self.method.to(memory_format=torch.channels_last)
        self.logger = RunLogger(self.out, self.dist.is_main, cfg["train"]["tensorboard"], cfg["train"]["progress"])
        if self.dist.is_main:
            save_config(cfg, self.out / "config.yaml")
        state = self._resume_state()
        if state is None and cfg["init_weights"]:
            self._init_weights(cfg["init_weights"])
        previous = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)
        try:
            for index, stage in enumerate(cfg["stages"]):
                if state is not None and index < state["stage"]:
                    continue
                self._run_stage(index, stage, state if state is not None and index == state["stage"] else None)
                state = None
            final = self.out / "final.safetensors"
            if self.dist.is_main:
                save_weights_file(self.method.state_dict(), final, metadata=self.metadata, overwrite=True)
                self.logger.info("final weights: %s%s", final,
                                 "".join(f"\n  warning: {w}" for w in self.warnings))
            return final
        finally:
            signal.signal(signal.SIGINT, previous[0])
            signal.signal(signal.SIGTERM, previous[1])
            self.logger.close()

    # ---------------------------------------------------------------- helpers
    def _on_signal(self, signum, frame) -> None:
        self.stop_requested = True

    def _init_weights(self, path: str) -> None:
        """Start from ``path`` (recipe key ``init_weights``): the tensors it holds, shapes checked; the parts it
        lacks (a shipped file has no training-only parts) keep their initialisation and are logged."""
        tensors = load_weights_file(path)
        check_shapes(self.method.state_dict(), tensors, path, f"method {self.method.name}")
        result = self.method.load_state_dict(tensors, strict=False)
        if result.unexpected_keys:
            raise ConfigError(f"init_weights holds tensors method {self.method.name} does not have: "
                              f"{result.unexpected_keys[:3]}", path)
        self.logger.info("init_weights %s: %d tensors loaded, %d kept at their initialisation%s", path,
                         len(tensors), len(result.missing_keys),
                         f" ({', '.join(sorted({k.split('.')[1] for k in result.missing_keys if '.' in k})[:4])})"
                         if result.missing_keys else "")

    def _resume_state(self) -> dict | None:
        if self.resume is None:
            return None
        path = latest_checkpoint(self.out / "checkpoints") if self.resume == "auto" else Path(self.resume)
        if path is None:
            self.logger.info("--resume auto: no checkpoint in %s, starting afresh", self.out / "checkpoints")
            return None
        state, params, ema = load_checkpoint(path)
        self.method.load_state_dict(params)
        for name, spec in state.get("discriminator_specs", {}).items():
            self.discriminators.ensure(name, spec)
        if "discriminator_params" in state:
            self.discriminators.load_state_dict(state["discriminator_params"])
        state["params_ema"] = ema
        self.last_checkpoint = path
        self.logger.info("resuming from %s (stage %d, iteration %d)", path, state["stage"], state["iteration"])
        return state

    def _loader(self, index: int, stage: dict, keys: frozenset[str], start: int) -> DataLoader:
        data = self.config["data"]
        spec = {**data["train"], **stage["data"]}
        batch = stage["batch_size"] or data["batch_size"]
        if batch % self.dist.world_size:
            raise ConfigError(f"batch size {batch} is not divisible by the {self.dist.world_size} ranks")
        samples = EpochSamples(build_source(spec, keys), cache=bool(spec.get("cache", False)), crop=spec.get("crop"))
        sampler = ResumableBatches(len(samples), batch // self.dist.world_size, self.config["seed"], index, start,
                                   stage["iterations"], self.dist.rank, self.dist.world_size)
        workers = data["num_workers"]
        return DataLoader(samples, batch_sampler=sampler, collate_fn=collate_samples, num_workers=workers,
                          persistent_workers=False, pin_memory=self.device.type == "cuda")

    def _to_device(self, batch: dict) -> dict:
        channels_last = self.config["train"]["channels_last"]
        out = {}
        for key, value in batch.items():
            if isinstance(value, torch.Tensor):
                value = value.to(self.device, non_blocking=True)
                if channels_last and value.dim() == 4:
                    value = value.contiguous(memory_format=torch.channels_last)
            out[key] = value
        return out

    def _autocast(self):
        if self.device.type == "cuda" and self.config["train"]["amp"]:
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _save(self, index: int, iteration: int, optimizer, scheduler, ema: EMA | None, best: float,
              d_optimizer=None, d_scheduler=None) -> None:
        if self.dist.is_main:
            state = {"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "rng": rng_states(),
                     "best_psnr": best, "discriminator_specs": dict(self.discriminators.specs)}
            if d_optimizer is not None:
                state.update(d_optimizer=d_optimizer.state_dict(), d_scheduler=d_scheduler.state_dict())
            self.last_checkpoint = save_checkpoint(
                self.out / "checkpoints", index, iteration, self.method.state_dict(),
                ema.state_dict() if ema is not None else None, state, self.config["train"]["keep_checkpoints"],
                discriminators=self.discriminators.state_dict(), metadata=self.metadata)
        barrier(self.dist)

    def _broadcast(self, value: float) -> float:
        """Rank 0's ``value`` on every rank (validation runs on rank 0 only)."""
        if not self.dist.enabled:
            return value
        tensor = torch.tensor([value], dtype=torch.float64, device=self.device)
        torch.distributed.broadcast(tensor, src=0)
        return float(tensor[0])

    # ------------------------------------------------------------------ stage
    def _run_stage(self, index: int, stage: dict, state: dict | None) -> None:
        cfg, train = self.config, self.config["train"]
        name, total = stage["name"], stage["iterations"]
        objective = build_objective(stage["objective"], self.method, stage["options"], cfg["vgg19_weights"],
                                    self.discriminators)
        objective.to(self.device)
        self.discriminators.to(self.device)
        params = objective.trainable_parameters()
        if not params:
            raise ConfigError(f"stage {name}: nothing to train")
        optimizer = build_optimizer(stage["optimizer"], params)
        scheduler = build_scheduler(stage["scheduler"], optimizer, total)
        d_params = objective.discriminator_parameters() if isinstance(objective, AdversarialObjective) else []
        d_optimizer = d_scheduler = None
        if d_params:
            if self.dist.enabled:
                raise ConfigError(f"stage {name}: adversarial stages run in a single process (alternating G/D "
                                  "updates are not implemented under DDP)")
            d_optimizer = build_optimizer(stage["d_optimizer"], d_params)
            d_scheduler = build_scheduler(stage["d_scheduler"], d_optimizer, total)
        ema = EMA(self.method, stage["ema"]) if stage["ema"] else None
        start, best = 0, -math.inf
        if state is not None:
            optimizer.load_state_dict(state["optimizer"])
            scheduler.load_state_dict(state["scheduler"])
            if d_optimizer is not None:
                d_optimizer.load_state_dict(state["d_optimizer"])
                d_scheduler.load_state_dict(state["d_scheduler"])
            if ema is not None and state["params_ema"] is not None:
                ema.load_state_dict(state["params_ema"])
            set_rng_states(state["rng"])
            start, best = state["iteration"], state["best_psnr"]
        model: torch.nn.Module = objective
        if self.dist.enabled:
            model = DistributedDataParallel(objective, device_ids=[self.device.index] if self.device.type == "cuda"
                                            else None)
        if train["compile"]:
            model = torch.compile(model)
        model.train()
        self.logger.info("stage %s: %s, %d iterations, %d trainable parameters, discriminators %s", name,
                         stage["objective"], total, sum(p.numel() for p in params),
                         getattr(objective, "used", None) or "none")
        self.logger.start_stage(name, start, total)
        for iteration, batch in enumerate(self._loader(index, stage, objective.keys, start), start=start + 1):
            batch = self._to_device(batch)
            with self._autocast():
                loss, logs, *rest = model(batch)
            d_loss = rest[0] if rest else None
            d_value = d_loss.detach().float() if d_loss is not None else torch.zeros((), device=loss.device)
            reduced = mean_over_ranks(torch.stack([loss.detach().float(), *(v.float() for v in logs.values()),
                                                   d_value,
                                                   torch.tensor(float(self.stop_requested), device=loss.device)]),
                                      self.dist)
            value = float(reduced[0])
            for what, number in (("loss", value), ("discriminator loss", float(reduced[-2]))):
                if not math.isfinite(number):
                    raise NonFiniteLossError(
                        f"stage {name} iteration {iteration}: {what} is {number}; stopped without saving, the last "
                        f"good checkpoint is {self.last_checkpoint or 'none (no checkpoint was written yet)'}")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if stage["grad_clip"]:
                torch.nn.utils.clip_grad_norm_(params, stage["grad_clip"])
            optimizer.step()
            scheduler.step()
            if d_loss is not None:
                d_optimizer.zero_grad(set_to_none=True)
                d_loss.backward()
                d_optimizer.step()
                d_scheduler.step()
            if ema is not None:
                ema.update(self.method, restart=iteration <= stage.get("ema_start", 0))
            self.logger.step(value)
            if iteration % train["log_every"] == 0 or iteration == total:
                scalars = {"loss": value, **{k: float(v) for k, v in zip(logs, reduced[1:])},
                           "lr": scheduler.get_last_lr()[0]}
                if d_loss is not None:
                    scalars.update({"d_loss": float(reduced[-2]), "d_lr": d_scheduler.get_last_lr()[0]})
                self.logger.scalars(name, iteration, scalars)
            for hook in self.hooks:
                hook(self, index, iteration)
            if train["val_every"] and iteration % train["val_every"] == 0 and iteration < total:
                best, scalars = self._validate(name, iteration, ema, best, objective)
                objective.train()  # validation left the method in eval mode
                for sched, spec in ((scheduler, stage["scheduler"]), (d_scheduler, stage["d_scheduler"])):
                    if sched is not None and spec["type"] == "plateau":
                        observe_plateau(sched, self._broadcast(scalars.get(spec["monitor"], math.nan)))
            stop = bool(reduced[-1] > 0)  # the same decision on every rank
            if stop or iteration % train["save_every"] == 0 or iteration == total:
                self._save(index, iteration, optimizer, scheduler, ema, best, d_optimizer, d_scheduler)
            if stop:
                self.logger.end_stage()
                raise TrainingInterrupted(f"interrupted at stage {name} iteration {iteration}; checkpoint "
                                          f"{self.last_checkpoint} saved, continue with --resume auto", self.out)
        self.logger.end_stage()
        self._validate(name, total, ema, best, objective)
        self._warn_if_flat(name)
        if ema is not None:
            self.method.load_state_dict(ema.state_dict())
        if self.dist.is_main:
            save_weights_file(self.method.state_dict(), self.out / f"{name}.safetensors", metadata=self.metadata,
                              overwrite=True)
        barrier(self.dist)

    # ------------------------------------------------------------- validation
    def _warn_if_flat(self, stage: str) -> None:
        """A warning (log and final summary) when the stage's validation PSNR never rose above its first value."""
        values = self.logger.logged(stage, "val/psnr")
        if len(values) >= 2 and max(values[1:]) <= values[0]:
            message = (f"stage {stage}: the validation PSNR never improved over the stage ({values[0]:.4f} dB first, "
                       f"{max(values[1:]):.4f} at best after it, {len(values)} validations)")
            self.logger.warning(message)
            self.warnings.append(message)

    @torch.no_grad()
    def _validate(self, stage: str, iteration: int, ema: EMA | None, best: float, objective: Objective | None = None
                  ) -> tuple[float, dict[str, float]]:
        """PSNR/SSIM (Y), MSE and L1 (on [0, 1] outputs) of the EMA (else current) weights on ``data.val``, or the
        stage's own scores when its objective has them (:meth:`Objective.validation_scores`); grid PNG; best
        weights. Rank 0 only. Returns (best PSNR, the logged scalars)."""
        spec = self.config["data"]["val"]
        if not spec or not self.dist.is_main:
            barrier(self.dist)
            return best, {}
        method: Method = self.method
        if ema is not None:
            method = copy.deepcopy(self.method)
            method.load_state_dict(ema.state_dict())
        method.eval()
        keys = frozenset(method.requires | {"hr", "lr"} | (objective.keys if objective is not None else frozenset()))
        loader = DataLoader(build_source(spec, keys), batch_size=int(spec.get("batch_size", 1)),
                            collate_fn=collate_samples)
        bicubic = BicubicMethod()
        identity = None
        if self.config["train"]["identity"]:
            from facerestore.metrics import DlibIdentity
            identity = DlibIdentity()
        sums: dict[str, list[float]] = {"psnr": [], "ssim": [], "psnr_bicubic": [], "ssim_bicubic": [], "identity": [],
                                        "mse": [], "l1": []}
        grid_rows: list[np.ndarray] = []
        wanted = self.config["train"]["grid_faces"]
        for batch in loader:
            batch = self._to_device(batch)
            own = objective.validation_scores(method, batch) if objective is not None else None
            if own is not None:
                for key, values in own.items():
                    sums.setdefault(key, []).extend(values.float().tolist())
                continue
            with self._autocast():
                out = method(batch).float()
            hr, base = batch["hr"], bicubic(batch).clamp(0, 1)
            sums["psnr"] += psnr_y_torch(out, hr).tolist()
            sums["ssim"] += ssim_y_torch(out, hr).tolist()
            sums["psnr_bicubic"] += psnr_y_torch(base, hr).tolist()
            sums["ssim_bicubic"] += ssim_y_torch(base, hr).tolist()
            sums["mse"] += (out - hr).pow(2).mean(dim=(1, 2, 3)).tolist()
            sums["l1"] += (out - hr).abs().mean(dim=(1, 2, 3)).tolist()
            if identity is not None:
                for o, h in zip(out, hr):
                    sums["identity"].append(identity.similarity(o.permute(1, 2, 0).cpu().numpy(),
                                                                h.permute(1, 2, 0).cpu().numpy()))
            if len(grid_rows) < wanted:
                grid_rows.append(comparison_grid(batch["lr"][:wanted], base[:wanted], out[:wanted], hr[:wanted]))
        scalars = {f"val/{k}": float(np.mean(v)) for k, v in sums.items() if v}
        self.logger.scalars(stage, iteration, scalars)
        if grid_rows:
            self.logger.grid(stage, iteration, np.concatenate(grid_rows, axis=0)[: wanted * hr.shape[-2]])
        self.logger.info("validation %s @ %d: " + ", ".join(f"{k} {v:.4f}" for k, v in scalars.items()),
                         stage, iteration)
        if scalars["val/psnr"] > best:
            best = scalars["val/psnr"]
            save_weights_file(method.state_dict(), self.out / f"best_{stage}.safetensors", metadata=self.metadata,
                              overwrite=True)
        barrier(self.dist)
        return best, scalars
