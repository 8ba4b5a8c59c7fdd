"""The one registry (src/facerestore/registry.py) behind models, methods, objectives, data sources, converters and
presets."""
from __future__ import annotations

import pytest

from facerestore.data.sources import DATA_SOURCES
from facerestore.degrade import PRESETS
from facerestore.errors import ConfigError
from facerestore.methods import METHODS, OBJECTIVES
from facerestore.models import MODELS
from facerestore.models.convert import CONVERTERS
from facerestore.registry import Registry


def _registry() -> Registry:
    things = Registry("thing")

    @things.register("plain")
    def plain(size: int = 1, scale: float = 1.0, name: str | None = None) -> tuple:
        return size, scale, name

    @things.register("buggy")
    def buggy(size: int = 1) -> None:
        return None + size  # a bug inside the constructor

    return things


def test_get_lists_the_valid_names_and_a_name_registers_once():
    things = _registry()
    assert things.names() == ["buggy", "plain"] and "plain" in things and len(things) == 2
    with pytest.raises(ConfigError, match=r"unknown thing 'nope'; available: buggy, plain"):
        things.get("nope")
    with pytest.raises(ValueError, match="registered twice"):
        things.add("plain", object())


def test_build_binds_and_checks_options_before_calling():
    things = _registry()
    assert things.build("plain", size=3, scale=2) == (3, 2, None)
    with pytest.raises(ConfigError, match=r"thing plain: got an unexpected keyword argument 'colour'"):
        things.build("plain", colour="red")
    with pytest.raises(ConfigError, match=r"thing plain: option size must be int, got 'x'"):
        things.build("plain", size="x")
    with pytest.raises(ConfigError, match=r"option scale must be float, got True"):
        things.build("plain", scale=True)
    with pytest.raises(TypeError):  # a bug inside a constructor is not reported as a bad option
        things.build("buggy", size=2)


@pytest.mark.parametrize("registry, expected", [
    (MODELS, {"ufvnet", "fishfsrnet", "parsingnet", "sparnet", "gfrnet", "yun_park", "fsgn", "edsr", "patchgan"}),
    (METHODS, {"ufvnet", "fishfsrnet", "song", "fsgn", "gfrnet", "yun_park", "bicubic", "edsr"}),
    (OBJECTIVES, {"pixel", "fishfsrnet_parsing", "ufvnet_separate", "ufvnet_integrated", "yun_park", "gfrnet_flow",
                  "gfrnet"}),
    (DATA_SOURCES, {"synthetic", "folder", "celeba", "helen", "ffhq", "identity", "photos", "real_val"}),
    (CONVERTERS, {"fishfsrnet-official", "parsingnet-official", "sparnet-official", "gfrnet-warpnet-official"}),
    (PRESETS, {"song_sr", "song_deblur", "yun_x8", "gfrnet_general", "ufv_multires", "fish_x4", "blind_mix"}),
])
def test_every_kind_of_name_lives_in_a_registry(registry, expected):
    assert isinstance(registry, Registry) and expected <= set(registry.names())
