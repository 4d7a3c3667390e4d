"""Decoding gives bit-identical pixels with 1 or 2 threads and in fresh processes."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

import tilecodec

DECODE = """
import sys, torch, numpy as np, tilecodec
torch.set_num_threads(int(sys.argv[1]))
out = tilecodec.load().decompress(open(sys.argv[2], "rb").read())
np.save(sys.argv[3], out)
"""


@pytest.mark.parametrize("tall", [False, True])  # tall: 8 hyper-latent rows, the hyper-synthesis runs in bands
def test_decode_is_bit_identical_across_threads_and_processes(tmp_path, codec, photo, tall):
    photo = np.ascontiguousarray(photo.transpose(1, 0, 2)) if tall else photo
    data = codec.compress(photo, quality=60)
    (tmp_path / "f.tlc").write_bytes(data)
    here = codec.decompress(data)
    for threads in (1, 2):
        npy = tmp_path / f"t{threads}.npy"
        subprocess.run([sys.executable, "-c", DECODE, str(threads), str(tmp_path / "f.tlc"), str(npy)], check=True)
        np.testing.assert_array_equal(np.load(npy), here)


DECODE_ALL = """
import sys, numpy as np, tilecodec
np.savez(sys.argv[1], *[tilecodec.load().decompress(open(f, "rb").read()) for f in sys.argv[2:]])
"""


def test_files_decode_with_other_cpu_kernels(tmp_path, codec, photo):
    """Files decode where other kernels do the sums (ATen without SIMD, oneDNN limited to
    SSE4.1, MKL to SSE4.2: other summation orders, as on another CPU). The exact entropy
    path gives the same table indexes in any order (with a float32 entropy path, 2 of these
    24 files failed to decode, and 4 of 12 files of eval photos). Only the synthesis's
    float32 rounding may move a pixel by one level."""
    files, here = [], []
    for i, image in enumerate((photo, np.ascontiguousarray(photo[::-1, ::-1]))):
        for quality in range(0, 101, 9):
            data = codec.compress(image, quality=quality)
            files.append(tmp_path / f"{i}-{quality}.tlc")
            files[-1].write_bytes(data)
            here.append(codec.decompress(data))
    env = {**os.environ, "ATEN_CPU_CAPABILITY": "default", "ONEDNN_MAX_CPU_ISA": "SSE41",
           "MKL_ENABLE_INSTRUCTIONS": "SSE4_2"}
    subprocess.run([sys.executable, "-c", DECODE_ALL, str(tmp_path / "other.npz"), *map(str, files)],
                   check=True, env=env)
    other = np.load(tmp_path / "other.npz")
    for k, mine in enumerate(here):
        diff = np.abs(other[f"arr_{k}"].astype(int) - mine)
        assert diff.max() <= 1 and diff.mean() < 0.01


CONTEXT_MODELS = [n for n in ("joint-ar-mse", "charm-mse", "cheng2020-gmm-mse") if n in tilecodec.models()]


@pytest.mark.parametrize("name", CONTEXT_MODELS)
def test_context_models_decode_in_a_fresh_process_with_other_cpu_kernels(tmp_path, name, photo):
    """The serial and channel-wise context models and the Gaussian mixture decode their own
    files in another process whose kernels sum in other orders: every table index, mean and
    mixture integer of their many small passes is computed exactly, or the index checksum
    would refuse the file."""
    codec = tilecodec.load(name)
    image = np.ascontiguousarray(photo[:192, :256])
    files, here = [], []
    for quality in (0, 50, 100):
        files.append(tmp_path / f"{quality}.tlc")
        files[-1].write_bytes(codec.compress(image, quality=quality))
        here.append(codec.decompress(files[-1].read_bytes()))
    env = {**os.environ, "ATEN_CPU_CAPABILITY": "default", "ONEDNN_MAX_CPU_ISA": "SSE41",
           "MKL_ENABLE_INSTRUCTIONS": "SSE4_2"}
    script = DECODE_ALL.replace("tilecodec.load()", f"tilecodec.load({name!r})")
    subprocess.run([sys.executable, "-c", script, str(tmp_path / "other.npz"), *map(str, files)], check=True, env=env)
    other = np.load(tmp_path / "other.npz")
    for k, mine in enumerate(here):
        diff = np.abs(other[f"arr_{k}"].astype(int) - mine)
        assert diff.max() <= 1 and diff.mean() < 0.01


ENCODE = """
import sys, numpy as np, tilecodec
sys.stdout.buffer.write(tilecodec.load().compress(np.load(sys.argv[1]), quality=40))
"""


def test_encode_is_deterministic_across_processes(tmp_path, codec, small_photo):
    np.save(tmp_path / "x.npy", small_photo)
    other = subprocess.run([sys.executable, "-c", ENCODE, str(tmp_path / "x.npy")], check=True,
                           capture_output=True).stdout
    assert other == codec.compress(small_photo, quality=40)


class _FaultyUnderBf16(torch.nn.Module):
    """Wraps a transform; under bf16 autocast its output is garbage (as a faulty kernel's would be)."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        out = self.inner(x)
        return out * 1e30 if torch.is_autocast_enabled("cpu") else out


def test_a_faulty_fast_transform_falls_back_to_float32_and_still_decodes(small_photo, monkeypatch):
    from tilecodec import numerics

    faulty, exact = (tilecodec.load(shared=False) for _ in range(2))
    faulty.model.precision = "bf16"  # the bf16 path, even on CPUs where it is not the default
    faulty.model.analysis = _FaultyUnderBf16(faulty.model.analysis)
    exact.model.precision = "reference"
    data = faulty.compress(small_photo, quality=30)
    assert data == exact.compress(small_photo, quality=30)
    assert faulty.decompress(data).shape == small_photo.shape


def test_entropy_map_runs_single_threaded_without_grad_and_restores_threads():
    from tilecodec.numerics import ENTROPY_THREADS, entropy_map

    torch.manual_seed(0)
    conv = torch.nn.Conv2d(8, 8, 3, padding=1)
    xs = [torch.randn(1, 8, 16, 16) for _ in range(5)]

    def work(x):
        return conv(x), torch.get_num_threads(), torch.is_grad_enabled()

    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        out = entropy_map(work, xs)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    torch.set_num_threads(ENTROPY_THREADS)
    try:
        with torch.no_grad():
            expected = [conv(x) for x in xs]
    finally:
        torch.set_num_threads(before)
    for (y, threads, grad), e in zip(out, expected):
        assert threads == ENTROPY_THREADS and not grad
        assert torch.equal(y, e)


def test_row_bands_equal_the_whole_computation_up_to_rounding(codec):
    from tilecodec.layers import run_inference
    from tilecodec.numerics import BAND_ROWS, ENTROPY_THREADS, row_bands

    hyper = codec.model.latent_codec.hyper_synthesis
    torch.manual_seed(0)
    before = torch.get_num_threads()
    for rows in (BAND_ROWS - 1, BAND_ROWS, BAND_ROWS + 3):
        z = torch.randn(1, hyper[0].in_channels, rows, 6) * 4
        with torch.no_grad():
            banded = row_bands(lambda t: run_inference(hyper, t), z, 2, 4)
            torch.set_num_threads(ENTROPY_THREADS)
            try:
                whole = run_inference(hyper, z)
            finally:
                torch.set_num_threads(before)
        assert banded.shape == whole.shape
        # a halo too small would show as differences of order one along the seam
        assert (banded - whole).abs().max() < 1e-3 * whole.abs().max()


def test_keep_freed_memory_applies_on_glibc_unless_turned_off(monkeypatch):
    import platform

    from tilecodec.numerics import keep_freed_memory

    monkeypatch.setenv("TILECODEC_MALLOC", "default")
    assert keep_freed_memory() is False
    monkeypatch.delenv("TILECODEC_MALLOC")
    assert keep_freed_memory() is (platform.libc_ver()[0] == "glibc")


def test_a_decoder_whose_entropy_path_computes_differently_raises_instead_of_decoding_garbage(codec, photo):
    """Stands in for a decoder on a machine whose float kernels round differently: the
    hyper-synthesis output moves by 1e-4, which moves some scales across table boundaries."""
    data = codec.compress(photo, quality=50)
    decoder = tilecodec.load(shared=False)
    with torch.no_grad():
        decoder.model.latent_codec.hyper_synthesis[-1].bias.add_(1e-4)
    from tilecodec import BitstreamError

    with pytest.raises(BitstreamError, match="coding tables differ"):
        decoder.decompress(data)
    assert codec.decompress(data).shape == photo.shape


def test_bf16_is_chosen_by_measuring_once_per_machine_and_cached(tmp_path, monkeypatch):
    from tilecodec import numerics

    monkeypatch.delenv("TILECODEC_BF16")
    monkeypatch.setenv("TILECODEC_CACHE", str(tmp_path))
    monkeypatch.setattr(numerics, "_DECISIONS", {})
    decision = numerics.bf16_pays()  # measures
    record = json.loads((tmp_path / "precision.json").read_text())[numerics._machine_key()]
    assert record["bf16"] is decision
    assert decision is (record["bf16_s"] <= numerics.BF16_MARGIN * record["float32_s"])
    monkeypatch.setattr(numerics, "_DECISIONS", {})  # a new process: the cache decides, no new measurement
    monkeypatch.setattr(numerics, "measure_bf16", lambda: pytest.fail("measured again"))
    assert numerics.bf16_pays() is decision
    assert numerics.default_precision() == ("bf16" if decision else "float32")
    for forced, expected in (("1", "bf16"), ("0", "float32")):
        monkeypatch.setenv("TILECODEC_BF16", forced)
        assert numerics.default_precision() == expected
