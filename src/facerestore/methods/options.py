"""Method options checked against the constructor's signature before anything is built.

A method's options are its ``__init__`` keyword parameters; a method whose ``network`` class attribute names
a registered model also takes that model builder's parameters (they reach it through ``**options``). Types
come from the annotations, checked by :func:`facerestore.registry.accepts`. ``prefix`` lets the CLI speak of
``--option``.
"""
from __future__ import annotations

import inspect
from collections.abc import Mapping

from facerestore.errors import ConfigError
from facerestore.models.registry import MODELS
from facerestore.registry import accepts


def option_parameters(cls: type) -> dict[str, inspect.Parameter]:
    """Keyword parameters a method class accepts: its constructor's, plus its ``network`` builder's."""
    parameters = dict(inspect.signature(cls.__init__).parameters)
    parameters.pop("self", None)
    takes_more = any(p.kind is p.VAR_KEYWORD for p in parameters.values())
    parameters = {k: p for k, p in parameters.items() if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}
    network = getattr(cls, "network", None)
    if takes_more and network in MODELS:
        for key, parameter in inspect.signature(MODELS[network]).parameters.items():
            parameters.setdefault(key, parameter)
    return parameters


def check_options(name: str, cls: type, options: Mapping, prefix: str = "option ") -> None:
    """:class:`ConfigError` for an option ``cls`` does not take (listing the valid ones) or of the wrong type."""
    parameters = option_parameters(cls)
    for key, value in options.items():
        if key not in parameters:
            raise ConfigError(f"method {name} has no {prefix}{key!r}; valid: {', '.join(sorted(parameters)) or 'none'}")
        annotation = parameters[key].annotation
        if not accepts(annotation, value):
            raise ConfigError(f"method {name} {prefix}{key} must be {annotation}, got {value!r}")
