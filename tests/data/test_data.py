"""Data sets: the sample vocabulary, identical samples whichever source, determinism per (seed, index),
flips, variable-scale batching, and the CelebA / Helen / FFHQ / identity-folder / folder loaders on tiny
fake data sets written in their real on-disk formats."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from skimage import data as skdata
from skimage.transform import downscale_local_mean
from torch.utils.data import DataLoader

from facerestore.data import (AnnotationError, CelebAFaces, FFHQFaces, FolderFaces, HelenFaces, IdentityPairs,
                              SyntheticFaces, collate_samples, guide_score)
from facerestore.data.formats import list_images
from facerestore.data.sample import flip_face
from facerestore.degrade.presets import UFV_RATE_SETS
from facerestore.errors import ConfigError, NoFaceError
from facerestore.face import labels as L
from facerestore.face.align import align_face, template_68
from facerestore.face.detect import detect_faces
from facerestore.io import read_image, to_float, write_image
from facerestore.synth import Expression, Pose, render_face

ALL_KEYS = {"hr", "lr", "lr_up", "landmarks", "masks", "face_mask", "parsing", "parsing_skin", "scale",
            "degradation"}


def assert_same_sample(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        if key == "degradation":
            assert a[key] == b[key]
        else:
            assert a[key].dtype == b[key].dtype and torch.equal(a[key], b[key]), key


def write_synthetic_folder(folder, dataset: SyntheticFaces, landmark_suffixes=(".npy", ".txt")) -> None:
    """Write a synthetic set in the folder layout: PNG, landmarks (.npy / .txt), parsing PNG."""
    folder.mkdir(parents=True, exist_ok=True)
    for index, suffix in zip(range(len(dataset)), landmark_suffixes):
        record = dataset.record(index)
        write_image(folder / f"{index:03d}.png", record.hr)
        if suffix == ".npy":
            np.save(folder / f"{index:03d}.npy", record.landmarks.astype(np.float32))
        else:
            np.savetxt(folder / f"{index:03d}.txt", record.landmarks, fmt="%.9g")
        write_image(folder / f"{index:03d}_parsing.png", record.parsing.astype(np.uint8))


# ------------------------------------------------------------------------------ sample vocabulary
def test_mirror_permutation_maps_the_symmetric_template_onto_itself():
    points = template_68(128)
    mirrored = points[list(L.MIRROR_68)].copy()
    mirrored[:, 0] = 127 - mirrored[:, 0]
    np.testing.assert_allclose(mirrored, points, atol=1e-9)
    assert sorted(L.MIRROR_68) == list(range(68))


def test_flipped_face_keeps_each_landmark_in_its_parsing_region():
    face = render_face(3, 5, 128, pose=Pose(yaw=25.0))
    image, points, parsing = flip_face(face.image, face.landmarks, face.parsing)
    np.testing.assert_array_equal(image, face.image[:, ::-1])
    for eye, label in ((L.RIGHT_EYE, L.RIGHT_EYE_LABEL), (L.LEFT_EYE, L.LEFT_EYE_LABEL)):
        x, y = np.round(points[list(eye)].mean(axis=0)).astype(int)
        assert parsing[y, x] == label
    # The subject's right eye stays on the image's left after mirroring.
    assert points[list(L.RIGHT_EYE), 0].mean() < points[list(L.LEFT_EYE), 0].mean()


def test_only_the_requested_keys_are_returned_with_documented_shapes_and_ranges():
    sample = SyntheticFaces(128, 2, seed=1, preset="fish_x8", keys=ALL_KEYS)[0]
    assert set(sample) == ALL_KEYS
    shapes = {"hr": (3, 128, 128), "lr": (3, 16, 16), "lr_up": (3, 128, 128), "landmarks": (68, 2),
              "masks": (4, 128, 128), "face_mask": (1, 128, 128), "parsing": (128, 128), "parsing_skin": (3, 16, 16),
              "scale": ()}
    for key, shape in shapes.items():
        assert tuple(sample[key].shape) == shape, key
    for key in ("hr", "lr", "lr_up", "masks", "face_mask", "parsing_skin"):
        assert sample[key].dtype == torch.float32 and 0.0 <= sample[key].min() and sample[key].max() <= 1.0, key
    assert sample["parsing"].dtype == torch.int64 and float(sample["scale"]) == 8.0
    assert sample["degradation"] == {"preset": "fish_x8", "scale": 8.0}
    # FishFSRNet's skin map: the HR skin mask area-averaged to LR size (independent reference: block means).
    skin = (sample["parsing"].numpy() == L.SKIN).astype(np.float64)
    np.testing.assert_allclose(sample["parsing_skin"][0].numpy(), downscale_local_mean(skin, (8, 8)), atol=1e-6)
    # Priors sit where the landmarks say: eye mask on the eye centres, face mask on the nose tip.
    points = sample["landmarks"].numpy()
    for eye in (L.RIGHT_EYE, L.LEFT_EYE):
        x, y = np.round(points[list(eye)].mean(axis=0)).astype(int)
        assert sample["masks"][1, y, x] > 0.5 and sample["masks"][3, y, x] == 0
    x, y = np.round(points[30]).astype(int)
    assert sample["face_mask"][0, y, x] == 1.0
    assert set(SyntheticFaces(128, 1, preset="fish_x4", keys={"lr"})[0]) == {"lr"}


def test_bad_key_requests_are_config_errors():
    with pytest.raises(ConfigError, match="unknown sample keys"):
        SyntheticFaces(128, 1, keys={"hr", "depth"})
    with pytest.raises(ConfigError, match="hr_blur"):
        SyntheticFaces(128, 1, preset="fish_x8", keys={"hr_blur"})
    with pytest.raises(ConfigError, match="need a degradation preset"):
        SyntheticFaces(128, 1, preset=None, keys={"lr"})


def test_synthetic_and_folder_sources_give_identical_samples(tmp_path):
    synthetic = SyntheticFaces(128, 2, seed=7, preset="yun_x8", keys=ALL_KEYS | {"hr_blur"}, flip=0.5)
    write_synthetic_folder(tmp_path / "faces", synthetic)
    folder = FolderFaces(tmp_path / "faces", 128, preset="yun_x8", keys=ALL_KEYS | {"hr_blur"}, seed=7, flip=0.5)
    assert len(folder) == 2
    for index in range(2):
        assert_same_sample(synthetic[index], folder[index])


def test_samples_depend_on_seed_and_index_only(tmp_path):
    dataset = SyntheticFaces(128, 4, seed=2, preset="ufv_multires", keys={"lr_up", "scale", "degradation"}, flip=0.5)
    direct = [dataset[i] for i in reversed(range(4))][::-1]
    loader = DataLoader(dataset, batch_size=2, num_workers=2, collate_fn=collate_samples)
    batches = list(loader)
    for index in range(4):
        batch = batches[index // 2]
        assert torch.equal(batch["lr_up"][index % 2], direct[index]["lr_up"])
        assert batch["degradation"][index % 2] == direct[index]["degradation"]
    assert not torch.equal(direct[0]["lr_up"], SyntheticFaces(128, 1, seed=3, preset="ufv_multires",
                                                               keys={"lr_up"})[0]["lr_up"])


def test_flip_mirrors_the_face_without_changing_the_degradation():
    keys = {"hr", "landmarks", "parsing", "degradation"}
    plain = SyntheticFaces(128, 1, seed=4, preset="gfrnet_general", keys=keys)[0]
    flipped = SyntheticFaces(128, 1, seed=4, preset="gfrnet_general", keys=keys, flip=1.0)[0]
    assert torch.equal(flipped["hr"], plain["hr"].flip(-1))
    assert flipped["degradation"] == plain["degradation"]
    # Point 36 (right eye, outer corner) of the mirror image is point 45 of the original, x mirrored.
    np.testing.assert_allclose(flipped["landmarks"][36].numpy(),
                               [127 - plain["landmarks"][45, 0].item(), plain["landmarks"][45, 1].item()], atol=1e-5)
    swapped = plain["parsing"].flip(-1).clone()
    swapped[plain["parsing"].flip(-1) == L.RIGHT_EYE_LABEL] = L.LEFT_EYE_LABEL
    swapped[plain["parsing"].flip(-1) == L.LEFT_EYE_LABEL] = L.RIGHT_EYE_LABEL
    swapped[plain["parsing"].flip(-1) == L.RIGHT_BROW_LABEL] = L.LEFT_BROW_LABEL
    swapped[plain["parsing"].flip(-1) == L.LEFT_BROW_LABEL] = L.RIGHT_BROW_LABEL
    assert torch.equal(flipped["parsing"], swapped)


@pytest.mark.parametrize("rate_set", ["MR3", "MR7", "MR8"])
def test_multiresolution_sets_batch_through_lr_up_and_scale(rate_set):
    dataset = SyntheticFaces(128, 6, seed=5, preset="ufv_multires", keys={"lr", "lr_up", "scale"},
                             preset_options={"rate_set": rate_set})
    samples = [dataset[i] for i in range(6)]
    allowed = {round(1 / rate, 6) for rate in UFV_RATE_SETS[rate_set]}
    for sample in samples:
        assert round(float(sample["scale"]), 4) in {round(s, 4) for s in allowed}
        assert sample["lr"].shape[-1] == int(np.ceil(128 / float(sample["scale"]) - 1e-6))
    sizes = {s["lr"].shape[-1] for s in samples}
    if len(sizes) > 1:
        with pytest.raises(ConfigError, match="lr_up"):
            collate_samples(samples)
    batch = collate_samples([{k: v for k, v in s.items() if k != "lr"} for s in samples])
    assert batch["lr_up"].shape == (6, 3, 128, 128) and batch["scale"].shape == (6,)


def test_synthetic_identities_splits_and_guide_pairs(tmp_path):
    train = SyntheticFaces(128, 6, seed=0, preset=None, keys={"hr", "identity"}, identities=2)
    assert {int(train[i]["identity"]) for i in range(6)} <= {0, 1}
    test = SyntheticFaces(128, 1, seed=0, preset=None, keys={"hr"}, split="test")
    assert not torch.equal(test[0]["hr"], SyntheticFaces(128, 1, seed=0, preset=None, keys={"hr"})[0]["hr"])
    pair = SyntheticFaces(128, 1, seed=0, preset="gfrnet_general", keys={"lr_up", "hr", "guide", "guide_landmarks"})[0]
    assert pair["guide"].shape == (3, 128, 128) and not torch.equal(pair["guide"], pair["hr"])
    with pytest.raises(ConfigError, match="identity"):
        FolderFaces(tmp_path, keys={"identity"})


def test_guide_score_prefers_a_frontal_face_with_open_eyes():
    person = dict(identity=9, expression=Expression(eye_open=1.0))
    frontal = render_face(1, 0, 128, pose=Pose(), **person).landmarks
    turned = render_face(1, 0, 128, pose=Pose(yaw=30.0), **person).landmarks
    tilted = render_face(1, 0, 128, pose=Pose(pitch=14.0), **person).landmarks
    closed = render_face(1, 0, 128, pose=Pose(), identity=9, expression=Expression(eye_open=0.15)).landmarks
    rolled = render_face(1, 0, 128, pose=Pose(roll=20.0), **person).landmarks
    score = guide_score(frontal)
    assert score > guide_score(turned) and score > guide_score(tilted) and score > guide_score(closed)
    assert abs(guide_score(rolled) - score) < 0.1  # in-plane rotation is not a reason to reject a guide
    assert abs(guide_score(template_68(256)) - 1.0) < 1e-9


# ------------------------------------------------------------------------------------ loaders
@pytest.fixture(scope="module")
def astronaut_crop() -> tuple[np.ndarray, np.ndarray]:
    """A real aligned face: skimage's astronaut aligned to 128 px, with its detected landmarks."""
    photo = skdata.astronaut()
    face = detect_faces(photo)[0]
    crop, matrix = align_face(photo, face.landmarks, 128)
    return crop, face.landmarks @ matrix[:, :2].T + matrix[:, 2]


class CountingDetector:
    """Real detection, counted (to check that the landmark cache is used)."""

    def __init__(self):
        self.calls = 0

    def detect(self, image):
        self.calls += 1
        return detect_faces(image)


def test_folder_detects_missing_landmarks_once_and_caches_them(tmp_path, astronaut_crop):
    crop, _ = astronaut_crop
    (tmp_path / "faces").mkdir()
    write_image(tmp_path / "faces" / "astronaut.png", crop)
    detector = CountingDetector()
    first = FolderFaces(tmp_path / "faces", 64, preset=None, keys={"hr", "landmarks"}, detector=detector)[0]
    again = FolderFaces(tmp_path / "faces", 64, preset=None, keys={"hr", "landmarks"}, detector=detector)[0]
    assert detector.calls == 1 and torch.equal(first["landmarks"], again["landmarks"])
    assert (tmp_path / "faces" / ".facerestore_cache" / "64" / "astronaut.png.npy").is_file()
    # Aligned crop: detected points near the canonical template (the 64 px resize keeps the framing).
    assert np.abs(first["landmarks"].numpy() - template_68(64)).mean() < 2.0
    # The cache folder is not listed as a face; keys without landmarks do not detect at all.
    assert len(list_images(tmp_path / "faces")) == 1
    FolderFaces(tmp_path / "faces", 64, preset="fish_x4", keys={"lr"}, detector=detector)[0]
    assert detector.calls == 1


def test_folder_without_a_detectable_face_names_the_file(tmp_path):
    (tmp_path / "faces").mkdir()
    write_image(tmp_path / "faces" / "blank.png", np.full((64, 64, 3), 0.5, np.float32))
    with pytest.raises(NoFaceError, match="blank.png"):
        FolderFaces(tmp_path / "faces", 64, preset=None, keys={"landmarks"})[0]


def test_folder_rejects_malformed_landmark_and_parsing_files(tmp_path):
    dataset = SyntheticFaces(128, 1, seed=0, preset=None, keys={"hr"})
    write_synthetic_folder(tmp_path, dataset, landmark_suffixes=(".txt",))
    lines = (tmp_path / "000.txt").read_text().splitlines()
    lines[4] = "12.5 oops"
    (tmp_path / "000.txt").write_text("\n".join(lines))
    with pytest.raises(AnnotationError, match=r"000\.txt: line 5: expected 2 numbers"):
        FolderFaces(tmp_path, 128, preset=None, keys={"landmarks"})[0]
    write_image(tmp_path / "000_parsing.png", np.full((128, 128), 40, np.uint8), overwrite=True)
    with pytest.raises(AnnotationError, match=r"000_parsing\.png: label 40"):
        FolderFaces(tmp_path, 128, preset=None, keys={"parsing"})[0]


def _place(canvas: np.ndarray, face: np.ndarray, x0: int, y0: int) -> None:
    canvas[y0:y0 + face.shape[0], x0:x0 + face.shape[1]] = face


def assert_crop_of(crop: torch.Tensor, region: np.ndarray) -> None:
    """``crop`` (3x128x128) shows ``region`` (256x256x3) halved: compared with skimage's 2x2 block
    means, away from the border; the same comparison one pixel off is at least twice as bad."""
    crop = crop.permute(1, 2, 0).numpy()
    expected = downscale_local_mean(region, (2, 2, 1))
    error = np.abs(crop - expected)[4:-4, 4:-4].mean()
    shifted = np.abs(crop[:, 1:] - expected[:, :-1])[4:-4, 4:-4].mean()
    assert error < 0.015 and shifted > 2 * error


def _square_points(x0: int, y0: int, side: int) -> np.ndarray:
    """5 points (eyes, nose, mouth corners) whose face square (FFHQ extent rule) is exactly the
    ``side`` square at (x0, y0): eyes side/8 apart horizontally -> side = 2 * 2 * 2a with a = side/8,
    mouth 0.2 side below the eyes (1.8 * 0.2 < 0.5), centre 0.1 * 0.2 side below the eye midpoint."""
    cx, a, d = x0 + (side - 1) / 2, side / 8, 0.2 * side
    eye_y = y0 + (side - 1) / 2 - 0.1 * d
    return np.array([[cx - a, eye_y], [cx + a, eye_y], [cx, eye_y + 0.6 * d], [cx - a, eye_y + d],
                     [cx + a, eye_y + d]])


@pytest.fixture(scope="module")
def celeba_root(tmp_path_factory):
    """Three rendered 256 px faces placed in larger 'in the wild' JPEGs, in CelebA's layout."""
    root = tmp_path_factory.mktemp("celeba")
    (root / "Img" / "img_celeba").mkdir(parents=True)
    (root / "Anno").mkdir()
    lines = ["3", "lefteye_x lefteye_y righteye_x righteye_y nose_x nose_y leftmouth_x leftmouth_y "
                  "rightmouth_x rightmouth_y"]
    for index, (x0, y0) in enumerate([(40, 30), (10, 64), (100, 20)]):
        canvas = np.full((360, 400, 3), 0.3, np.float32)
        _place(canvas, render_face(11, index, 256).image, x0, y0)
        name = f"{index + 1:06d}.jpg"
        write_image(root / "Img" / "img_celeba" / name, canvas, jpeg_quality=98)
        values = " ".join(f"{v:g}" for v in _square_points(x0, y0, 256).ravel())
        lines.append(f"{name} {values}")
    (root / "Anno" / "list_landmarks_celeba.txt").write_text("\n".join(lines) + "\n")
    (root / "list_eval_partition.txt").write_text("000001.jpg 0\n000002.jpg 0\n000003.jpg 2\n")
    return root


def test_celeba_crops_the_landmark_square_and_follows_the_partition(celeba_root):
    train = CelebAFaces(celeba_root, "train", size=128, preset=None, keys={"hr"})
    assert train.names == ["000001.jpg", "000002.jpg"]
    assert CelebAFaces(celeba_root, "test", size=128, preset=None, keys={"hr"}).names == ["000003.jpg"]
    assert len(CelebAFaces(celeba_root, "val", size=128, preset=None, keys={"hr"})) == 0
    assert len(CelebAFaces(celeba_root, "all", size=128, preset=None, keys={"hr"})) == 3
    # The crop is the 256 px square the points define, halved: skimage's 2x2 block mean of the JPEG's
    # pixels there (up to resampling differences; a one-pixel shift would double the error).
    photo = to_float(read_image(celeba_root / "Img" / "img_celeba" / "000002.jpg")[0])
    assert_crop_of(train[1]["hr"], photo[64:320, 10:266])


def test_celeba_annotation_errors_name_file_and_line(tmp_path, celeba_root):
    root = tmp_path / "celeba"
    (root / "img_celeba").mkdir(parents=True)
    text = (celeba_root / "Anno" / "list_landmarks_celeba.txt").read_text().splitlines()
    (root / "list_landmarks_celeba.txt").write_text("\n".join(text[:3] + [text[3].rsplit(" ", 1)[0]] + text[4:]))
    with pytest.raises(AnnotationError, match=r"list_landmarks_celeba\.txt: line 4: expected 10 numbers, got 9"):
        CelebAFaces(root, "all", preset=None, keys={"hr"})
    (root / "list_landmarks_celeba.txt").write_text("\n".join(["7"] + text[1:]))
    with pytest.raises(AnnotationError, match="line 1: the count line says 7 images, the file lists 3"):
        CelebAFaces(root, "all", preset=None, keys={"hr"})
    (root / "list_landmarks_celeba.txt").write_text("\n".join(text))
    with pytest.raises(ConfigError, match="partition file"):
        CelebAFaces(root, "train", preset=None, keys={"hr"})
    (root / "list_eval_partition.txt").write_text("000001.jpg 0\n000002.jpg train\n")
    with pytest.raises(AnnotationError, match=r"list_eval_partition\.txt: line 2"):
        CelebAFaces(root, "train", preset=None, keys={"hr"})


def _helen_points(five: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """194 points whose eye groups average to the two eye points and whose outer lips average to the
    mouth centre (the rest arbitrary)."""
    points = rng.uniform(0, 300, size=(194, 2))
    for group, centre in ((slice(114, 134), five[1]), (slice(134, 154), five[0]),
                          (slice(58, 86), five[3:].mean(axis=0))):
        offsets = rng.normal(0, 5, size=(points[group].shape[0], 2))
        points[group] = centre + offsets - offsets.mean(axis=0)
    return points


def test_helen_crops_by_its_194_points_and_splits_by_name_lists(tmp_path, rng):
    root = tmp_path / "helen"
    (root / "annotation").mkdir(parents=True)
    (root / "train_1").mkdir()
    (root / "test").mkdir()
    for index, (name, folder) in enumerate([("100_1", "train_1"), ("200_1", "train_1"), ("300_1", "test")]):
        canvas = np.full((330, 300, 3), 0.6, np.float32)
        _place(canvas, render_face(12, index, 256).image, 20, 40)
        write_image(root / folder / f"{name}.jpg", canvas, jpeg_quality=98)
        points = _helen_points(_square_points(20, 40, 256), rng)
        (root / "annotation" / f"{index + 1}.txt").write_text(
            name + "\n" + "\n".join(f"{x:.3f} , {y:.3f}" for x, y in points) + "\n")
    (root / "trainnames.txt").write_text("100_1\n200_1\n")
    (root / "testnames.txt").write_text("300_1\n")
    train = HelenFaces(root, "train", size=128, preset=None, keys={"hr"})
    assert [path.name for path, _ in train.items] == ["100_1.jpg", "200_1.jpg"]
    assert len(HelenFaces(root, "test", size=128, preset=None, keys={"hr"})) == 1
    photo = to_float(read_image(root / "train_1" / "200_1.jpg")[0])
    assert_crop_of(train[1]["hr"], photo[40:296, 20:276])

    lines = (root / "annotation" / "2.txt").read_text().splitlines()
    (root / "annotation" / "2.txt").write_text("\n".join(lines[:10] + ["1.0 , y"] + lines[11:]))
    with pytest.raises(AnnotationError, match=r"2\.txt: line 11: expected 2 numbers"):
        HelenFaces(root, "all", preset=None, keys={"hr"})
    (root / "annotation" / "2.txt").write_text("\n".join(lines[:-1]))
    with pytest.raises(AnnotationError, match=r"2\.txt: expected 194 point lines"):
        HelenFaces(root, "all", preset=None, keys={"hr"})


def test_ffhq_resizes_and_takes_landmarks_and_split_from_the_metadata(tmp_path):
    root = tmp_path / "ffhq"
    (root / "images1024x1024" / "00000").mkdir(parents=True)
    metadata = {}
    for index, category in enumerate(["training", "validation"]):
        face = render_face(13, index, 256)
        write_image(root / "images1024x1024" / "00000" / f"{index:05d}.png", face.image)
        metadata[str(index)] = {"category": category, "image": {
            "file_path": f"images1024x1024/00000/{index:05d}.png", "face_landmarks": face.landmarks.tolist()}}
    (root / "ffhq-dataset-v2.json").write_text(json.dumps(metadata, indent=1))
    train = FFHQFaces(root, "train", size=128, preset=None, keys={"hr", "landmarks"})
    assert len(train) == 1 and len(FFHQFaces(root, "all", size=128, preset=None, keys={"hr"})) == 2
    sample = FFHQFaces(root, "val", size=128, preset=None, keys={"hr", "landmarks"})[0]
    landmarks = render_face(13, 1, 256).landmarks
    np.testing.assert_allclose(sample["landmarks"].numpy(), (landmarks + 0.5) / 2 - 0.5, atol=1e-4)
    assert sample["hr"].shape == (3, 128, 128)
    (root / "ffhq-dataset-v2.json").write_text('{\n "0": {\n  "image": [1, 2,\n }')
    with pytest.raises(AnnotationError, match=r"ffhq-dataset-v2\.json: line 4: invalid JSON"):
        FFHQFaces(root, "train", preset=None, keys={"hr"})


def test_identity_folders_pair_each_target_with_the_frontal_open_eyed_guide(tmp_path):
    root = tmp_path / "ids"
    scenes = {"alice": [Pose(yaw=30.0), Pose(), Pose(pitch=14.0)], "bob": [Pose(yaw=-25.0), Pose(yaw=3.0)],
              "carol": [Pose()]}
    for person, (name, poses) in enumerate(scenes.items()):
        (root / name).mkdir(parents=True)
        for index, pose in enumerate(poses):
            face = render_face(14, index, 128, identity=person, pose=pose, expression=Expression(eye_open=1.0))
            write_image(root / name / f"{index}.png", face.image)
            np.save(root / name / f"{index}.npy", face.landmarks)
    pairs = IdentityPairs(root, size=128, preset="gfrnet_general",
                          keys={"hr", "lr_up", "guide", "guide_landmarks", "identity"})
    assert [(i, t.name, g.name) for i, t, g in pairs.pairs] == [
        (0, "0.png", "1.png"), (0, "2.png", "1.png"), (1, "0.png", "1.png")]
    sample = pairs[2]
    assert int(sample["identity"]) == 1
    bob_guide = to_float(read_image(root / "bob" / "1.png")[0])
    np.testing.assert_array_equal(sample["guide"].permute(1, 2, 0).numpy(), bob_guide)
    np.testing.assert_allclose(sample["guide_landmarks"].numpy(), np.load(root / "bob" / "1.npy"), atol=1e-5)



def test_crop_takes_one_window_of_every_hr_and_lr_sized_key():
    from facerestore.data.sample import build_sample, crop_sample

    face = render_face(0, 3, 128)
    keys = ["hr", "lr", "lr_up", "masks", "parsing_skin"]
    sample = build_sample(face.image, face.landmarks, face.parsing, keys, "fish_x4", np.random.default_rng(0))
    patch = crop_sample(sample, 32, np.random.default_rng(1))
    assert patch["hr"].shape == (3, 32, 32) and patch["lr_up"].shape == (3, 32, 32)
    assert patch["masks"].shape == (4, 32, 32)
    assert patch["lr"].shape == (3, 8, 8) and patch["parsing_skin"].shape == (3, 8, 8)
    # The window is the same everywhere: find it in hr, check the LR window sits at its corner / 4.
    hr = sample["hr"]
    hits = [(t, l) for t in range(0, 97, 4) for l in range(0, 97, 4)
            if torch.equal(hr[:, t:t + 32, l:l + 32], patch["hr"])]
    assert len(hits) == 1
    top, left = hits[0]
    assert torch.equal(patch["lr"], sample["lr"][:, top // 4:top // 4 + 8, left // 4:left // 4 + 8])
    assert torch.equal(patch["masks"], sample["masks"][:, top:top + 32, left:left + 32])
    with pytest.raises(ConfigError, match="multiple of the scale"):
        crop_sample(sample, 30, np.random.default_rng(1))
    landmarks = build_sample(face.image, face.landmarks, face.parsing, ["hr", "landmarks"], None,
                             np.random.default_rng(0))
    with pytest.raises(ConfigError, match="landmarks"):
        crop_sample(landmarks, 32, np.random.default_rng(1))
