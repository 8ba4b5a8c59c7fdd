"""Recipe files: ``configs/<method>/<recipe>.yaml``, every one valid, and ``base:`` inheritance."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from facerestore.errors import ConfigError
from facerestore.methods import list_methods
from facerestore.train.config import load_config, merge_recipe, read_recipe

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
RECIPES = sorted(CONFIGS.glob("*/*.yaml"))


def test_recipes_live_in_one_folder_per_method_with_unique_names():
    assert RECIPES and not list(CONFIGS.glob("*.yaml"))
    assert len({path.stem for path in RECIPES}) == len(RECIPES)
    for path in RECIPES:
        assert path.parent.name in list_methods(), path


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.stem)
def test_every_recipe_resolves_and_validates_as_its_folder_s_method(path):
    config = load_config(path)
    assert config["method"]["name"] == path.parent.name and config["name"] == path.stem


def test_an_ablation_is_a_few_lines_over_its_paper_recipe():
    model4 = CONFIGS / "fishfsrnet" / "fishfsrnet_x8_model4.yaml"
    assert yaml.safe_load(model4.read_text())["base"] == "fishfsrnet_x8.yaml"
    assert len(model4.read_text().splitlines()) <= 10
    child, paper = load_config(model4), load_config(CONFIGS / "fishfsrnet" / "fishfsrnet_x8.yaml")
    assert child["method"]["options"] == {"scale": 8, "msrb": False, "spatial_attention": False,
                                          "channel_attention": False, "parsing_branch": True}
    assert child["stages"] == paper["stages"] and child["data"] == paper["data"]


def test_merge_rules():
    base = {"a": {"x": 1, "y": [1, 2]}, "stages": [{"name": "s0", "n": 1}, {"name": "s1", "n": 2}]}
    merged = merge_recipe(base, {"a": {"y": [3]}, "stages": {1: {"n": 5}}})
    assert merged == {"a": {"x": 1, "y": [3]}, "stages": [{"name": "s0", "n": 1}, {"name": "s1", "n": 5}]}
    assert base["stages"][1]["n"] == 2  # the base is not changed
    assert merge_recipe(base, {"stages": [{"name": "only"}]})["stages"] == [{"name": "only"}]
    with pytest.raises(ConfigError, match="items \\[4\\] of a list of 2"):
        merge_recipe(base, {"stages": {4: {"n": 1}}})


def test_base_chains_resolve_and_errors_name_the_file(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "root.yaml").write_text("name: root\nseed: 3\nmethod: {name: bicubic, options: {scale: 2}}\n")
    (tmp_path / "sub" / "mid.yaml").write_text("base: ../root.yaml\nname: mid\n")
    (tmp_path / "sub" / "leaf.yaml").write_text("base: mid.yaml\nname: leaf\nmethod: {options: {scale: 4}}\n")
    leaf = read_recipe(tmp_path / "sub" / "leaf.yaml")
    assert leaf == {"name": "leaf", "seed": 3, "method": {"name": "bicubic", "options": {"scale": 4}}}
    (tmp_path / "a.yaml").write_text("base: b.yaml\n")
    (tmp_path / "b.yaml").write_text("base: a.yaml\n")
    with pytest.raises(ConfigError, match=r"b.yaml: the base recipes form a cycle: a.yaml -> b.yaml -> a.yaml"):
        read_recipe(tmp_path / "a.yaml")
    (tmp_path / "orphan.yaml").write_text("base: missing.yaml\n")
    with pytest.raises(ConfigError, match=r"missing.yaml: no such recipe file"):
        read_recipe(tmp_path / "orphan.yaml")
    (tmp_path / "bad.yaml").write_text("base: [x]\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: base must be the path of another recipe"):
        read_recipe(tmp_path / "bad.yaml")


def test_a_mapping_marked_replace_replaces_the_base_s():
    base = {"data": {"train": {"source": "synthetic", "size": 128, "preset": "fish_x4"}, "batch_size": 16}}
    child = {"data": {"train": {"_replace": True, "source": "mix", "parts": []}}}
    assert merge_recipe(base, child) == {"data": {"train": {"source": "mix", "parts": []}, "batch_size": 16}}
