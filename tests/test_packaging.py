"""``import facerestore`` and ``python -m facerestore`` work from the folder that holds a clone named
``facerestore``: the clone folder (no ``__init__.py``) must not shadow the package as a namespace package. The
set-up installs the package editable in setuptools' ``compat`` mode (a path entry, found before a namespace
portion loses to it), see the Makefile."""
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
