"""The iteration-based trainer: runs a recipe's stages in order (each from the previous stage's weights,
its EMA when it kept one), with optimizer / LR schedule / gradient clipping / EMA from the recipe, bf16
autocast on CUDA, optional ``torch.compile``, DDP under torchrun, periodic validation (PSNR/SSIM on Y,
optional dlib identity), atomic checkpoints and exact resumption on CPU.

Adversarial stages (:mod:`facerestore.methods.adversarial`) alternate a generator update (the stage's ``optimizer`` /
``scheduler``) and a discriminator update (``d_optimizer`` / ``d_scheduler``) every iteration; the
discriminators belong to the run, persist across its stages and are checkpointed with their optimizer.
Optimizers and schedules: :mod:`.schedules` (a ``plateau`` schedule multiplies the lr by ``gamma`` when a
validation loss stops decreasing, GFRNet §4.2); validation: :mod:`.validate`.

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
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader

from facerestore.data.sample import collate_samples
from facerestore.errors import ConfigError, FaceRestoreError
from facerestore.methods import Method, Objective, build_method, build_objective
from facerestore.methods.adversarial import AdversarialObjective, Discriminators
from facerestore.methods.metadata import info_for_recipe
from facerestore.models.weights import check_shapes, load_weights_file, save_weights_file
from facerestore.train.checkpoint import latest_checkpoint, load_checkpoint, rng_states, save_checkpoint, set_rng_states
from facerestore.train.config import save_config
from facerestore.train.datasets import EpochSamples, ResumableBatches, build_source
from facerestore.train.distributed import DistInfo, barrier, init_distributed, mean_over_ranks, resolve_device
from facerestore.train.ema import EMA
from facerestore.train.logging import RunLogger
from facerestore.train.run_folder import prepare_run_folder
from facerestore.train.schedules import build_optimizer, build_scheduler, observe_plateau
from facerestore.train.validate import validate


class TrainingInterrupted(FaceRestoreError):
    """SIGINT/SIGTERM: a checkpoint was saved; ``--resume auto`` continues."""

    exit_code = 130


class NonFiniteLossError(FaceRestoreError):
    """The loss became NaN/Inf; the run stopped without saving, the last good checkpoint is kept."""


Hook = Callable[["Trainer", int, int], None]


@dataclass
class StageRun:
    """What one stage trains with: its objective (``model``: wrapped for DDP / compile), the generator's and
    the discriminators' optimizers and schedules, the EMA, the best validation PSNR so far."""

    objective: Objective
    model: torch.nn.Module
    params: list[torch.nn.Parameter]
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    d_optimizer: torch.optim.Optimizer | None
    d_scheduler: torch.optim.lr_scheduler.LRScheduler | None
    ema: EMA | None
    start: int
    best: float


@dataclass(frozen=True)
class Step:
    """One iteration's rank-averaged figures: the loss, the objective's logs, the discriminator loss (None: no
    discriminator this stage) and whether any rank was asked to stop."""

    loss: float
    logs: dict[str, float]
    d_loss: float | None
    stop: bool


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

    def _save(self, index: int, iteration: int, run: StageRun) -> None:
        if self.dist.is_main:
            state = {"optimizer": run.optimizer.state_dict(), "scheduler": run.scheduler.state_dict(),
                     "rng": rng_states(), "best_psnr": run.best, "discriminator_specs": dict(self.discriminators.specs)}
            if run.d_optimizer is not None:
                state.update(d_optimizer=run.d_optimizer.state_dict(), d_scheduler=run.d_scheduler.state_dict())
            self.last_checkpoint = save_checkpoint(
                self.out / "checkpoints", index, iteration, self.method.state_dict(),
                run.ema.state_dict() if run.ema is not None else None, state, self.config["train"]["keep_checkpoints"],
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
        run = self._setup_stage(stage, state)
        name, total = stage["name"], stage["iterations"]
        self.logger.start_stage(name, run.start, total)
        for iteration, batch in enumerate(self._loader(index, stage, run.objective.keys, run.start),
                                          start=run.start + 1):
            step = self._step(run, stage, iteration, self._to_device(batch))
            self._after_step(run, index, stage, iteration, step)
        self.logger.end_stage()
        run.best = self._validate(name, total, run)[0]
        self._warn_if_flat(name)
        if run.ema is not None:
            self.method.load_state_dict(run.ema.state_dict())
        if self.dist.is_main:
            save_weights_file(self.method.state_dict(), self.out / f"{name}.safetensors", metadata=self.metadata,
                              overwrite=True)
        barrier(self.dist)

    def _setup_stage(self, stage: dict, state: dict | None) -> StageRun:
        """The stage's objective, optimizers, schedules and EMA, restored from ``state`` when resuming."""
        name, total = stage["name"], stage["iterations"]
        objective = build_objective(stage["objective"], self.method, stage["options"], self.config["vgg19_weights"],
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
        if self.config["train"]["compile"]:
            model = torch.compile(model)
        model.train()
        self.logger.info("stage %s: %s, %d iterations, %d trainable parameters, discriminators %s", name,
                         stage["objective"], total, sum(p.numel() for p in params),
                         getattr(objective, "used", None) or "none")
        for term, why in objective.off_terms.items():
            self.logger.warning(f"stage {name}: loss term {term} is OFF ({why})")
        return StageRun(objective, model, params, optimizer, scheduler, d_optimizer, d_scheduler, ema, start, best)

    def _step(self, run: StageRun, stage: dict, iteration: int, batch: dict) -> Step:
        """One forward pass, the generator's update (then the discriminators'), the EMA update; a non-finite
        loss on any rank stops the run before anything is saved."""
        with self._autocast():
            loss, logs, *rest = run.model(batch)
        d_loss = rest[0] if rest else None
        d_value = d_loss.detach().float() if d_loss is not None else torch.zeros((), device=loss.device)
        reduced = mean_over_ranks(torch.stack([loss.detach().float(), *(v.float() for v in logs.values()), d_value,
                                               torch.tensor(float(self.stop_requested), device=loss.device)]),
                                  self.dist)
        value, d_mean = float(reduced[0]), float(reduced[-2])
        for what, number in (("loss", value), ("discriminator loss", d_mean)):
            if not math.isfinite(number):
                raise NonFiniteLossError(
                    f"stage {stage['name']} iteration {iteration}: {what} is {number}; stopped without saving, the "
                    f"last good checkpoint is {self.last_checkpoint or 'none (no checkpoint was written yet)'}")
        run.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if stage["grad_clip"]:
            torch.nn.utils.clip_grad_norm_(run.params, stage["grad_clip"])
        run.optimizer.step()
        run.scheduler.step()
        if d_loss is not None:
            run.d_optimizer.zero_grad(set_to_none=True)
            d_loss.backward()
            run.d_optimizer.step()
            run.d_scheduler.step()
        if run.ema is not None:
            run.ema.update(self.method, restart=iteration <= stage.get("ema_start", 0))
        return Step(value, {k: float(v) for k, v in zip(logs, reduced[1:])}, d_mean if d_loss is not None else None,
                    bool(reduced[-1] > 0))

    def _after_step(self, run: StageRun, index: int, stage: dict, iteration: int, step: Step) -> None:
        """Logging, hooks, periodic validation (feeding plateau schedules), checkpoints, and the stop a signal
        asked for (the same decision on every rank)."""
        train, name, total = self.config["train"], stage["name"], stage["iterations"]
        self.logger.step(step.loss)
        if iteration % train["log_every"] == 0 or iteration == total:
            scalars = {"loss": step.loss, **step.logs, "lr": run.optimizer.param_groups[0]["lr"]}
            if step.d_loss is not None:
                scalars.update({"d_loss": step.d_loss, "d_lr": run.d_optimizer.param_groups[0]["lr"]})
            self.logger.scalars(name, iteration, scalars)
        for hook in self.hooks:
            hook(self, index, iteration)
        if train["val_every"] and iteration % train["val_every"] == 0 and iteration < total:
            run.best, scalars = self._validate(name, iteration, run)
            run.objective.train()  # validation left the method in eval mode
            for sched, spec in ((run.scheduler, stage["scheduler"]), (run.d_scheduler, stage["d_scheduler"])):
                if sched is not None and spec["type"] == "plateau":
                    observe_plateau(sched, self._broadcast(scalars.get(spec["monitor"], math.nan)))
        if step.stop or iteration % train["save_every"] == 0 or iteration == total:
            self._save(index, iteration, run)
        if step.stop:
            self.logger.end_stage()
            raise TrainingInterrupted(f"interrupted at stage {name} iteration {iteration}; checkpoint "
                                      f"{self.last_checkpoint} saved, continue with --resume auto", self.out)

    # ------------------------------------------------------------- validation
    def _warn_if_flat(self, stage: str) -> None:
        """A warning (log and final summary) when the stage's validation PSNR never rose above its first value."""
        values = self.logger.logged(stage, "val/psnr")
        if len(values) >= 2 and max(values[1:]) <= values[0]:
            message = (f"stage {stage}: the validation PSNR never improved over the stage ({values[0]:.4f} dB first, "
                       f"{max(values[1:]):.4f} at best after it, {len(values)} validations)")
            self.logger.warning(message)
            self.warnings.append(message)

    def _validate(self, stage: str, iteration: int, run: StageRun) -> tuple[float, dict[str, float]]:
        """Validation (:func:`facerestore.train.validate.validate`) of the EMA (else current) weights on
        ``data.val``: scalars logged, grid PNG written, best weights saved. Rank 0 only. Returns (best PSNR, the
        logged scalars)."""
        spec = self.config["data"]["val"]
        if not spec or not self.dist.is_main:
            barrier(self.dist)
            return run.best, {}
        method: Method = self.method
        if run.ema is not None:
            method = copy.deepcopy(self.method)
            method.load_state_dict(run.ema.state_dict())
        method.eval()
        result = validate(method, run.objective, spec, grid_faces=self.config["train"]["grid_faces"],
                          identity=self.config["train"]["identity"], to_device=self._to_device,
                          autocast=self._autocast)
        self.logger.scalars(stage, iteration, result.scalars)
        if result.grid is not None:
            self.logger.grid(stage, iteration, result.grid)
        self.logger.info("validation %s @ %d: " + ", ".join(f"{k} {v:.4f}" for k, v in result.scalars.items()),
                         stage, iteration)
        best = run.best
        if result.scalars["val/psnr"] > best:
            best = result.scalars["val/psnr"]
            save_weights_file(method.state_dict(), self.out / f"best_{stage}.safetensors", metadata=self.metadata,
                              overwrite=True)
        barrier(self.dist)
        return best, result.scalars
