"""Recipe files: YAML → validated config dict with every default filled in.

A recipe has ``name``, ``seed``, ``method`` (``name`` + ``options`` of :func:`facerestore.methods.build_method`),
``data`` (``batch_size`` = global batch, ``num_workers``, ``train`` and ``val`` data specs, see
:mod:`facerestore.train.datasets`), ``train`` (engine options) and ``stages`` (run in order, each from the
previous one's weights). ``--set key=value`` overrides use dotted paths (``stages.0.iterations=10``) and YAML
value syntax (``1e-4``, ``[0.9, 0.99]``, ``null``). Unknown keys and wrong types raise :class:`ConfigError`
naming the key. Documented in ``docs/training.md``.

``base: OTHER.yaml`` (a path relative to the recipe's folder) makes a recipe the few lines by which it differs
from another (an ablation over its paper recipe, as BasicSR's option files): resolved before validation by
:func:`merge_recipe` (mappings merge key by key, a list is replaced, except that a mapping of list indices
patches a list's items: ``stages: {1: {iterations: 10}}``, and a mapping with ``_replace: true`` replaces the
base's whole); a base may have a base. The resolved recipe saved
beside a run is complete (no ``base``).
"""
from __future__ import annotations

import copy
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from facerestore.errors import ConfigError
from facerestore.io.atomic import write_text_atomic

REPLACE = "_replace"  # in a mapping of a recipe with a base: this mapping replaces the base's instead of merging
REQUIRED = object()
ANY = object()  # free-form mapping, checked by whatever consumes it
PLATEAU_MONITORS = ("val/mse", "val/l1")

TRAIN_DEFAULTS: dict[str, Any] = {
    "amp": True,            # bf16 autocast on CUDA (always off on CPU)
    "channels_last": False,  # memory format of the networks (CUDA)
    "compile": False,       # torch.compile the training module
    "log_every": 10,        # iterations between logged scalars
    "val_every": 0,         # iterations between validations (0: at the end of each stage only)
    "save_every": 100,      # iterations between checkpoints
    "keep_checkpoints": 2,  # newest checkpoints kept on disk
    "tensorboard": False,   # also write TensorBoard scalars and grids (needs the tensorboard package)
    "identity": False,      # dlib identity similarity in validation (slow)
    "grid_faces": 4,        # faces in the LR | bicubic | output | GT validation grid
    "progress": True,       # tqdm progress bar
}
OPTIMIZER_DEFAULTS: dict[str, Any] = {"type": "adam", "lr": 1e-4, "betas": [0.9, 0.999], "eps": 1e-8,
                                      "weight_decay": 0.0, "momentum": 0.0}
SCHEDULER_DEFAULTS: dict[str, Any] = {
    "type": "constant",     # constant | multistep | cosine | plateau
    "milestones": [],       # multistep: iterations where the lr is multiplied by gamma
    "gamma": 0.5,           # multistep / plateau: the factor of each decay
    "min_factor": 0.0,      # cosine: the final factor; plateau: the lowest factor
    "patience": 0,          # plateau: validations without improvement tolerated before a decay
    "threshold": 0.0,       # plateau: relative decrease of the monitored loss that counts as improvement
    "monitor": "val/mse",   # plateau: validation loss watched (val/mse or val/l1, on the [0, 1] outputs)
    "warmup": 0,            # iterations of linear lr warm-up (constant, multistep, cosine)
}
STAGE_DEFAULTS: dict[str, Any] = {
    "name": REQUIRED,
    "objective": REQUIRED,  # see facerestore.methods.objective.OBJECTIVES
    "iterations": REQUIRED,
    "options": ANY,         # keyword options of the objective (loss, train, alpha...)
    "optimizer": OPTIMIZER_DEFAULTS,
    "scheduler": SCHEDULER_DEFAULTS,
    "d_optimizer": OPTIMIZER_DEFAULTS,  # discriminators of adversarial objectives (default: the stage's optimizer)
    "d_scheduler": SCHEDULER_DEFAULTS,  # their lr schedule (default: the stage's scheduler)
    "grad_clip": None,      # max global gradient norm (None: off)
    "ema": None,            # EMA decay of the weights (None: off)
    "ema_start": 0,         # iterations before the EMA starts averaging (it copies the weights until then)
    "batch_size": None,     # overrides data.batch_size for this stage
    "data": ANY,            # keys merged into data.train for this stage
}
DEFAULTS: dict[str, Any] = {
    "name": REQUIRED,
    "seed": 0,
    "method": {"name": REQUIRED, "options": ANY},
    "data": {"batch_size": 8, "num_workers": 0, "train": ANY, "val": ANY},
    "train": TRAIN_DEFAULTS,
    "vgg19_weights": None,
    "init_weights": None,   # a weights file of the same method to start from (fine-tuning); not used on --resume
    "stages": REQUIRED,
}


def _merge(defaults: dict, given: Any, where: str) -> dict:
    if not isinstance(given, dict):
        raise ConfigError(f"{where or 'the recipe'} must be a mapping, got {type(given).__name__}")
    unknown = set(given) - set(defaults)
    if unknown:
        raise ConfigError(f"unknown key {where + '.' if where else ''}{sorted(unknown)[0]}; "
                          f"known: {', '.join(sorted(defaults))}")
    out = {}
    for key, default in defaults.items():
        path = f"{where}.{key}" if where else key
        if key not in given:
            if default is REQUIRED:
                raise ConfigError(f"missing key {path}")
            out[key] = {} if default is ANY else copy.deepcopy(default)
            continue
        value = given[key]
        if default is ANY:
            if value is not None and not isinstance(value, dict):
                raise ConfigError(f"{path} must be a mapping, got {value!r}")
            out[key] = dict(value or {})
        elif isinstance(default, dict):
            out[key] = _merge(default, value, path)
        else:
            out[key] = _check_type(value, default, path)
    return out


def _check_type(value: Any, default: Any, path: str) -> Any:
    if default is REQUIRED or default is None or value is None:
        return value
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    else:
        ok = isinstance(value, type(default))
    if not ok:
        raise ConfigError(f"{path} must be {type(default).__name__}, got {value!r}")
    return value


def _with_discriminator_defaults(stage: Any) -> Any:
    """Keys of ``d_optimizer`` / ``d_scheduler`` not given default to the stage's ``optimizer`` /
    ``scheduler`` (then to the defaults)."""
    if not isinstance(stage, dict):
        return stage
    stage = dict(stage)
    for own, shared in (("d_optimizer", "optimizer"), ("d_scheduler", "scheduler")):
        given = stage.get(own) or {}
        if isinstance(stage.get(shared), dict) and isinstance(given, dict):
            stage[own] = {**stage[shared], **given}
    return stage


def validate(raw: dict) -> dict:
    """Fill defaults and check every key and type; returns a new dict."""
    config = _merge(DEFAULTS, raw, "")
    stages = config["stages"]
    if not isinstance(stages, list) or not stages:
        raise ConfigError("stages must be a non-empty list")
    config["stages"] = [_merge(STAGE_DEFAULTS, _with_discriminator_defaults(stage), f"stages.{i}")
                        for i, stage in enumerate(stages)]
    names = [stage["name"] for stage in config["stages"]]
    if len(set(names)) != len(names):
        raise ConfigError(f"stages: names must be unique, got {names}")
    for i, stage in enumerate(config["stages"]):
        if not isinstance(stage["iterations"], int) or stage["iterations"] < 0:
            raise ConfigError(f"stages.{i}.iterations must be a non-negative integer, got {stage['iterations']!r}")
        if stage["batch_size"] is not None and (not isinstance(stage["batch_size"], int) or stage["batch_size"] < 1):
            raise ConfigError(f"stages.{i}.batch_size must be a positive integer")
        for key in ("scheduler", "d_scheduler"):
            if stage[key]["type"] == "plateau" and stage[key]["monitor"] not in PLATEAU_MONITORS:
                raise ConfigError(f"stages.{i}.{key}.monitor must be one of {list(PLATEAU_MONITORS)}, "
                                  f"got {stage[key]['monitor']!r}")
            if stage[key]["type"] == "plateau" and not config["data"]["val"]:
                raise ConfigError(f"stages.{i}.{key}: a plateau schedule needs data.val (it watches a "
                                  "validation loss)")
    if config["data"]["batch_size"] < 1:
        raise ConfigError("data.batch_size must be a positive integer")
    if not config["data"]["train"]:
        raise ConfigError("missing key data.train")
    return config


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"a.b.0.c=value"`` → (["a", "b", "0", "c"], YAML-parsed value)."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set expects key=value, got {text!r}")
    try:
        parsed = yaml.safe_load(value) if value.strip() else None
    except yaml.YAMLError as error:
        raise ConfigError(f"--set {key}: cannot parse value {value!r} ({error})") from None
    return key.strip().split("."), parsed


def apply_overrides(raw: dict, overrides: Iterable[str]) -> dict:
    """Apply ``--set`` overrides to a raw (not yet validated) recipe; list items by index."""
    raw = copy.deepcopy(raw)
    for text in overrides:
        path, value = parse_override(text)
        node: Any = raw
        for depth, part in enumerate(path):
            last = depth == len(path) - 1
            where = ".".join(path[:depth + 1])
            if isinstance(node, list):
                if not part.isdigit() or int(part) >= len(node):
                    raise ConfigError(f"--set {'.'.join(path)}: {where} is not an index of a list of {len(node)}")
                part = int(part)
            elif not isinstance(node, dict):
                raise ConfigError(f"--set {'.'.join(path)}: {'.'.join(path[:depth])} is not a mapping")
            if last:
                node[part] = value
            else:
                if isinstance(node, dict) and node.get(part) is None:
                    node[part] = {}
                node = node[part]
    return raw


def merge_recipe(base: Any, child: Any) -> Any:
    """``child`` over ``base`` (see the module docstring)."""
    if isinstance(child, dict) and child.get(REPLACE) is True:
        return copy.deepcopy({key: value for key, value in child.items() if key != REPLACE})
    if isinstance(base, dict) and isinstance(child, dict):
        return {**base, **{key: merge_recipe(base[key], value) if key in base else value
                           for key, value in child.items()}}
    if isinstance(base, list) and isinstance(child, dict) and all(isinstance(k, int) for k in child):
        if any(not 0 <= k < len(base) for k in child):
            raise ConfigError(f"a list patch names items {sorted(child)} of a list of {len(base)}")
        return [merge_recipe(item, child[k]) if k in child else item for k, item in enumerate(base)]
    return copy.deepcopy(child)


def read_recipe(path: str | os.PathLike, _chain: tuple[Path, ...] = ()) -> dict:
    """The raw recipe at ``path`` with its ``base`` chain resolved (not validated). Errors name the file."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("no such recipe file", path) from None
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError(f"cannot be read as YAML ({error})", path) from None
    raw = raw or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"a recipe is a mapping, got {type(raw).__name__}", path)
    base = raw.pop("base", None)
    if base is None:
        return raw
    if not isinstance(base, str):
        raise ConfigError(f"base must be the path of another recipe (relative to this one), got {base!r}", path)
    base_path = (path.parent / base).resolve()
    chain = (*_chain, path.resolve())
    if base_path in chain:
        raise ConfigError(f"the base recipes form a cycle: {' -> '.join(p.name for p in (*chain, base_path))}", path)
    resolved = read_recipe(base_path, chain)  # its errors name the base file
    try:
        return merge_recipe(resolved, raw)
    except ConfigError as error:
        raise ConfigError(error.reason, path) from None


def load_config(path: str | os.PathLike, overrides: Iterable[str] = ()) -> dict:
    """Read the recipe at ``path`` (its ``base`` chain resolved), apply ``overrides`` and validate. Errors name
    the file or the key."""
    path = Path(path)
    raw = read_recipe(path)
    try:
        return validate(apply_overrides(raw, overrides))
    except ConfigError as error:
        raise ConfigError(error.reason, path) from None


def save_config(config: dict, path: str | os.PathLike) -> None:
    """Write the resolved config (what actually ran) as YAML, atomically."""
    write_text_atomic(path, yaml.safe_dump(config, sort_keys=False), error=ConfigError)
