"""GFRNet evaluation as the paper reports it (Li et al. 2018 §4.3, §4.5, Table 1, Fig. 6): one benchmark per
Table 1 column (Eq. 4 with s = 4 or 8) and the Ours(R) condition, each face given another person's guide."""
from __future__ import annotations

import csv

import pytest
import torch

from facerestore.cli import main
from facerestore.errors import ConfigError
from facerestore.evaluate import evaluate, parse_spec
from facerestore.evaluate.benchmark import BENCHMARKS, OtherPersonsGuides
from facerestore.methods import build_method

KEYS = frozenset({"lr_up", "guide"})


def _samples(spec: str, count: int) -> list[dict]:
    data = parse_spec(spec).with_count(count)
    (condition,) = data.conditions
    dataset = data.dataset(condition, data.keys(KEYS))
    return [dataset[i] for i in range(count)]


@pytest.mark.parametrize("factor", [4, 8])
def test_table_1_columns_fix_the_scale_of_eq_4(factor):
    data = BENCHMARKS[f"synthetic-gfrnet-x{factor}"]
    assert data.pairs and data.size == 256 and [c.label for c in data.conditions] == [f"x{factor}"]
    assert data.conditions == BENCHMARKS["synthetic-gfrnet"].with_scales([factor]).conditions
    samples = _samples(f"synthetic-gfrnet-x{factor}", 2)
    assert all(s["lr"].shape == (3, 256 // factor, 256 // factor) for s in samples)
    assert all(s["lr_up"].shape == s["hr"].shape == s["guide"].shape == (3, 256, 256) for s in samples)


def test_random_guide_gives_each_face_the_next_persons_guide_and_nothing_else():
    true, random = _samples("synthetic-gfrnet-x8", 4), _samples("synthetic-gfrnet-x8:random-guide", 3)
    for i in range(3):
        for key in ("lr", "lr_up", "hr"):  # the same degraded input and target, face for face
            assert torch.equal(random[i][key], true[i][key]), key
        assert torch.equal(random[i]["guide"], true[i + 1]["guide"])  # pair i + 1: another person
        assert not torch.equal(random[i]["guide"], true[i]["guide"])
    data = parse_spec("synthetic-gfrnet-x4:random-guide")
    assert data.name == "synthetic-gfrnet-x4:random-guide" and data.random_guide and "Ours(R)" in data.protocol
    assert data.with_count(5).with_scales([8]).random_guide  # kept by --count / --scales
    assert isinstance(data.dataset(data.conditions[0], data.keys(KEYS)), OtherPersonsGuides)
    assert parse_spec("synthetic-gfrnet:random-guide").conditions == BENCHMARKS["synthetic-gfrnet"].conditions
    with pytest.raises(ConfigError, match="random guides need a synthetic GFRNet pair benchmark"):
        parse_spec("synthetic-fish-x8:random-guide")
    with pytest.raises(ConfigError, match="expected a benchmark name"):
        parse_spec("synthetic-gfrnet-x2:random-guide")


def test_a_guided_method_scores_differently_with_another_persons_guide(tmp_path):
    torch.manual_seed(0)
    method = build_method("gfrnet", channels=2, use_warpnet=False)  # Ours(−W): RecNet reads the guide directly
    true = evaluate(method, parse_spec("synthetic-gfrnet-x8").with_count(2), batch_size=2).scores[0]
    random = evaluate(method, parse_spec("synthetic-gfrnet-x8:random-guide").with_count(2), batch_size=2).scores[0]
    assert (random.data, random.condition, random.count) == ("synthetic-gfrnet-x8:random-guide", "x8", 2)
    assert random.psnr != true.psnr
    bicubic = [evaluate(build_method("bicubic"), parse_spec(spec).with_count(2)).scores[0].psnr
               for spec in ("synthetic-gfrnet-x8", "synthetic-gfrnet-x8:random-guide")]
    assert bicubic[0] == bicubic[1]  # a method without a guide sees the same faces
    out = tmp_path / "eval"
    assert main(["eval", "--method", "bicubic", "--data", "synthetic-gfrnet-x4:random-guide", "--count", "1",
                 "--identity", "none", "--out", str(out)]) == 0
    with open(out / "scores.csv", newline="") as handle:
        (row,) = list(csv.DictReader(handle))
    assert row["data"] == "synthetic-gfrnet-x4:random-guide" and row["condition"] == "x4"
