"""``import facerestore`` and ``python -m facerestore`` work from the folder that holds a clone named
``facerestore``: the clone folder (no ``__init__.py``) must not shadow the package as a namespace package. The
package lives under ``src/`` (the packaging guide's layout), so its editable install is a plain path entry
(``src``), where the regular package wins over a namespace portion."""
from __future__ import annotations

import subprocess
import sys


def test_a_folder_named_facerestore_in_the_working_directory_does_not_shadow_the_package(tmp_path):
    (tmp_path / "facerestore" / "configs").mkdir(parents=True)  # as `git clone .../facerestore` leaves it
    imported = subprocess.run([sys.executable, "-c", "import facerestore; print(facerestore.__version__)"],
                              cwd=tmp_path, capture_output=True, text=True)
    assert imported.returncode == 0 and imported.stdout.strip(), imported.stderr[-300:]
    module = subprocess.run([sys.executable, "-m", "facerestore", "--version"], cwd=tmp_path, capture_output=True,
                            text=True)
    assert module.returncode == 0 and module.stdout.startswith("facerestore "), module.stderr[-300:]


def test_the_top_level_help_and_api_import_no_torch():
    """``facerestore --help`` lists every command without importing a command's module (and so torch, cv2);
    ``import facerestore`` is as light, its API loading on first use."""
    code = ("import sys\nfrom facerestore.cli import COMMANDS, main\nimport facerestore\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "heavy = sorted(m for m in ('torch', 'cv2', 'dlib', 'numpy') if m in sys.modules)\n"
            "print('HEAVY', heavy)\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-300:]
    assert "HEAVY []" in run.stdout, run.stdout[-300:]
    assert all(name in run.stdout for name in ("restore", "train", "exemplars"))


def test_the_top_level_api_exports():
    import facerestore

    assert {"FaceRestorer", "build_method", "list_methods", "build_model", "list_models", "read_image",
            "write_image"} <= set(facerestore.__all__)
    assert "ufvnet" in facerestore.list_methods() and "ufvnet" in facerestore.list_models()
    method = facerestore.build_method("bicubic", scale=2)
    assert method.scale == 2 and callable(facerestore.read_image) and facerestore.FaceRestorer.__name__ == "FaceRestorer"
