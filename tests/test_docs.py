"""The documented examples run as written."""

import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = [ROOT / "README.md", ROOT / "docs" / "api.md"]


def _python_blocks(path: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.S)


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.name)
def test_python_examples_run_as_written(path, tmp_path, monkeypatch, photo):
    blocks = _python_blocks(path)
    assert blocks, f"{path.name} has no Python example"
    Image.fromarray(np.ascontiguousarray(photo[:96, :128])).save(tmp_path / "photo.png")
    (tmp_path / "photos").mkdir()
    Image.fromarray(np.ascontiguousarray(photo[100:164, :128])).save(tmp_path / "photos" / "a.png")
    monkeypatch.chdir(tmp_path)
    for block in blocks:
        exec(compile(block, f"{path.name} example", "exec"), {})
    if "compress_one" in path.read_text():  # the distributed recipe coded the folder
        assert (tmp_path / "coded" / "a.tlc").exists()
