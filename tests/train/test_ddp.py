"""DDP through torchrun: 2 CPU ranks (gloo) on a global batch give the same averaged loss and the same
SGD-updated weights as one process on that whole batch."""
from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml
from safetensors.torch import load_file

from facerestore.train import Trainer
from facerestore.train.config import validate
from tiny_method import TinySR, tiny_recipe

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _losses(out: Path) -> list[float]:
    return [float(r["value"]) for r in csv.DictReader((out / "scalars.csv").open()) if r["name"] == "loss"]


def test_two_cpu_ranks_match_one_process_on_the_global_batch(tmp_path):
    raw = tiny_recipe(iterations=2, optimizer={"type": "sgd", "lr": 0.5})
    raw["data"]["batch_size"] = 4
    raw["stages"] = raw["stages"][:1]
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(yaml.safe_dump(raw))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join([str(FIXTURES), *sys.path])}
    # A session of its own, so that a timeout kills the ranks too, not only torchrun.
    process = subprocess.Popen(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
         str(FIXTURES / "tiny_method.py"), str(recipe), str(tmp_path / "ddp")],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        _, stderr = process.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail("torchrun with 2 CPU ranks did not finish within 240 s")
    assert process.returncode == 0, stderr[-3000:]
    Trainer(validate(raw), tmp_path / "single").run()
    single, ddp = load_file(tmp_path / "single" / "final.safetensors"), load_file(tmp_path / "ddp" / "final.safetensors")
    torch.manual_seed(raw["seed"])
    initial = TinySR().net.weight  # the weights moved: the comparison is not of untouched tensors
    assert not torch.allclose(single["net.weight"], initial, atol=1e-3)
    for key in single:
        torch.testing.assert_close(ddp[key], single[key], rtol=1e-5, atol=1e-6)
    assert _losses(tmp_path / "ddp") == pytest.approx(_losses(tmp_path / "single"), rel=1e-5)
    assert len(_losses(tmp_path / "single")) == 2
