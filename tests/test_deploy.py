"""ONNX transforms (tilecodec.deploy): graphs with dynamic size that code files the library
decodes, and that decode the library's files, within float rounding of PyTorch."""

import json

import numpy as np
import pytest

import tilecodec
from tilecodec import deploy
from tilecodec.cli import main
from tilecodec.errors import ModelError
from tilecodec.metrics import psnr

MODEL = "msh-mse-fast"


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    folder = tmp_path_factory.mktemp("onnx")
    assert main(["export-onnx", MODEL, str(folder)]) == 0
    return folder


def test_export_writes_every_transform_with_a_manifest(exported):
    manifest = json.loads((exported / deploy.MANIFEST).read_text())
    assert manifest["model"] == MODEL and manifest["model_hash"] == tilecodec.load(MODEL).model_hash
    assert set(manifest["parts"]) == set(deploy.PARTS)
    for part in manifest["parts"].values():
        assert (exported / part["file"]).stat().st_size > 1000
        assert part["check_max_abs_diff"] < 1e-3


def test_onnx_files_decode_with_the_library_and_back(exported, photo):
    image = np.ascontiguousarray(photo[:200, :300])  # not a multiple of the model's 64 px
    onnx, torch_codec = deploy.load_onnx(exported), tilecodec.load(MODEL)
    data = onnx.compress(image, quality=50)
    assert tilecodec.info(data).model == MODEL
    decoded = torch_codec.decompress(data)  # a file coded through ONNX, decoded by PyTorch
    reference = torch_codec.compress(image, quality=50)
    assert abs(len(data) / len(reference) - 1) < 0.01
    assert abs(psnr(image, decoded) - psnr(image, torch_codec.decompress(reference))) < 0.05
    assert np.abs(onnx.decompress(data).astype(int) - decoded).max() <= 2  # same latents, other float rounding
    # dynamic size: another shape through the same graphs, in patches
    other = np.ascontiguousarray(photo[:130, :260])
    out = onnx.decompress(onnx.compress(other, quality=20, patch=128, overlap=8))
    same = torch_codec.decompress(torch_codec.compress(other, quality=20, patch=128, overlap=8))
    assert out.shape == other.shape and abs(psnr(other, out) - psnr(other, same)) < 0.05


def test_a_folder_without_an_export_is_a_model_error(tmp_path):
    with pytest.raises(ModelError, match="not an ONNX export"):
        deploy.load_onnx(tmp_path)
    (tmp_path / deploy.MANIFEST).write_text(json.dumps({"model": MODEL, "model_hash": "00000000", "parts": {}}))
    with pytest.raises(ModelError, match="other weights"):
        deploy.load_onnx(tmp_path)
