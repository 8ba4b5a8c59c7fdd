"""Method choice and options shared by the commands that run a method (``eval``, ``restore``)."""
from __future__ import annotations

import argparse

import yaml

from facerestore.errors import ConfigError


def parse_options(pairs: list[str]) -> dict:
    """``["k=v", ...]`` → ``{k: YAML value of v}``; :class:`ConfigError` for an item without ``=``."""
    options = {}
    for pair in pairs:
        key, equals, value = pair.partition("=")
        if not equals or not key:
            raise ConfigError(f"--option expects KEY=VALUE, got {pair!r}")
        options[key.strip()] = yaml.safe_load(value)
    return options


def method_spec(args: argparse.Namespace) -> tuple[str | None, dict]:
    """The method name (None: the weights file's or the default) and options of ``--method`` / ``--config RECIPE``
    and ``--option K=V``."""
    if args.config is None:
        return args.method, parse_options(args.option)
    from facerestore.train import load_config

    method = load_config(args.config)["method"]
    return method["name"], {**method["options"], **parse_options(args.option)}
