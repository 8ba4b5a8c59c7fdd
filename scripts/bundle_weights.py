"""Make a shippable weights file from a trained one: the test-time method (training-only parts dropped), fp16
where that changes PSNR-Y by at most 0.01 dB on held-out synthetic faces, else (or when fp16 is over the 30 MB a
committed file may take) fp16 with the large matrices as int8 rows where that changes it by at most 0.05 dB;
metadata from the file or its recipe.

    .venv/bin/python scripts/bundle_weights.py RUN/final.safetensors --config RUN/config.yaml \
        -o src/facerestore/weights/ufvnet_default.safetensors [--overwrite]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import yaml

from facerestore.data import SyntheticFaces
from facerestore.errors import FaceRestoreError
from facerestore.methods import build_method
from facerestore.methods.deploy import inference_method, psnr_change, save_method, stored_bytes, stored_copy
from facerestore.methods.metadata import info_for_recipe, read_weights_info

FP16_TOLERANCE_DB = 0.01
INT8_TOLERANCE_DB = 0.05
MAX_BYTES = 30 * 2**20
CHECK_FACES = 16


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("weights", type=Path, help="trained weights (final / best / checkpoint file)")
    parser.add_argument("--config", type=Path, help="the run's resolved recipe (config.yaml), for files without metadata")
    parser.add_argument("-o", "--output", type=Path, required=True)
    parser.add_argument("--overwrite", action="store_true")
    args = parser.parse_args()
    try:
        info = read_weights_info(args.weights)
        if info is None:
            if args.config is None:
                raise FaceRestoreError(f"{args.weights}: no facerestore metadata; pass --config RUN/config.yaml")
            config = yaml.safe_load(args.config.read_text())
            built = build_method(config["method"]["name"], **config["method"]["options"])
            info = info_for_recipe(config, built.hr_size, built.scale)
        trained = build_method(info.method, weights=args.weights, **({} if read_weights_info(args.weights) else
                                                                      info.options))
        method = inference_method(trained)
        preset = (info.degradation or {}).get("preset") if method.scale is not None else "ufv_multires"
        faces = SyntheticFaces(method.hr_size or 128, CHECK_FACES, 0, preset or "ufv_multires", ("lr", "hr"),
                               split="test")
        samples = [faces[i] for i in range(CHECK_FACES)]
        changes = {storage: psnr_change(method, stored_copy(method, storage), samples)
                   for storage in ("fp16", "fp16+int8")}
        fitting = [storage for storage, tolerance in (("fp16", FP16_TOLERANCE_DB), ("fp16+int8", INT8_TOLERANCE_DB),
                                                      ("fp32", 0.0))
                   if changes.get(storage, 0.0) <= tolerance and stored_bytes(method, storage) <= MAX_BYTES]
        if not fitting:
            raise FaceRestoreError(f"{args.weights}: no storage fits in {MAX_BYTES / 2**20:.0f} MB within the PSNR "
                                   f"tolerances (changes {changes})")
        path = save_method(method, info, args.output, storage=fitting[0], overwrite=args.overwrite)
    except FaceRestoreError as error:
        print(f"bundle_weights: error: {error}", file=sys.stderr)
        return 2
    print(f"{path}: {info.method} {method.options}, {fitting[0]} (largest PSNR-Y change on {CHECK_FACES} synthetic "
          f"test faces: " + ", ".join(f"{k} {v:.4f} dB" for k, v in changes.items())
          + f"), {path.stat().st_size / 2**20:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
