"""The recurrent progressive codec: files hold iterations in order, a truncated file is exactly
the file of fewer iterations (so it decodes to what those iterations give), more iterations
cost more bits, the range-coded bits decode exactly and cost about their entropy, and bad
truncations are refused."""

import subprocess
import sys
import zlib

import numpy as np
import pytest
import torch

import tilecodec
from tilecodec import BitstreamError, ParameterError, info, truncate, zoo
from tilecodec.entropy.binary import decode_bits, encode_bits
from tilecodec.models.progressive import (INPAINTING, MODES, RecurrentImageCodec, allocate, iterations_for,
                                          quality_for, truncate_counts)
from tilecodec.train.export import write_model


@pytest.fixture(scope="module")
def codec():
    """A small (untrained) recurrent model of 6 iterations, registered as a user model."""
    torch.manual_seed(0)
    model = RecurrentImageCodec(width=8, iterations=6).eval()
    write_model(model, "tiny-recurrent", "recurrent", {"width": 8, "iterations": 6}, zoo.user_dir())
    return tilecodec.load("tiny-recurrent")


def test_quality_maps_onto_iterations_and_back():
    for k in range(1, 17):
        assert iterations_for(quality_for(k, 16), 16) == k
    assert iterations_for(0, 16) == 1 and iterations_for(100, 16) == 16


def test_truncated_files_are_the_files_of_fewer_iterations(codec, small_photo):
    full = codec.compress(small_photo, quality=100, patch=None)
    assert info(full).sections == 7  # the block counts, then 6 iterations
    decoded = {}
    for k in range(1, 7):
        cut = truncate(full, k)
        direct = codec.compress(small_photo, quality=quality_for(k, 6), patch=None)
        assert cut == direct
        assert info(cut).sections == 1 + k and info(cut).quality == quality_for(k, 6)
        decoded[k] = codec.decompress(cut)
        assert decoded[k].shape == small_photo.shape
    sizes = [len(truncate(full, k)) for k in range(1, 7)]
    assert sizes == sorted(sizes) and len(set(sizes)) == 6


def test_truncation_keeps_every_patchs_first_iterations(codec, photo):
    image = photo[:100, :140]
    full = codec.compress(image, quality=100, patch=64, overlap=8)
    cut = truncate(full, 2)
    assert info(cut).sections == 3 * info(full).sections // 7
    assert np.array_equal(codec.decompress(cut), codec.decompress(codec.compress(image, quality=quality_for(2, 6),
                                                                                  patch=64, overlap=8)))


def test_bad_truncations_are_refused(codec, small_photo):
    data = codec.compress(small_photo, quality=40, patch=None)  # 3 iterations
    for k in (0, 4, 2.5):
        with pytest.raises(ParameterError):
            truncate(data, k)
    other = tilecodec.load().compress(small_photo, quality=40)
    with pytest.raises(ParameterError):
        truncate(other, 1)


def test_bit_allocation_on_the_command_line(codec, small_photo, tmp_path):
    from PIL import Image

    from tilecodec.cli import main

    Image.fromarray(small_photo).save(tmp_path / "a.png")
    common = ["compress", str(tmp_path / "a.png"), "--model", "tiny-recurrent", "--quality", "100", "--patch", "none"]
    assert main(common + ["-o", str(tmp_path / "plain.tlc")]) == 0
    assert main(common + ["-o", str(tmp_path / "allocated.tlc"), "--allocate"]) == 0
    allocated = (tmp_path / "allocated.tlc").read_bytes()
    assert allocated == tilecodec.load("tiny-recurrent", allocate=True).compress(small_photo, quality=100, patch=None)
    assert len(allocated) < (tmp_path / "plain.tlc").stat().st_size
    assert not tilecodec.load("tiny-recurrent").model.allocate  # the shared codec is left as it was
    bad = subprocess.run([sys.executable, "-m", "tilecodec", "compress", str(tmp_path / "a.png"), "-o",
                          str(tmp_path / "c.tlc"), "--allocate"], capture_output=True, text=True)
    assert bad.returncode != 0 and "recurrent" in bad.stderr and "Traceback" not in bad.stderr
    assert not (tmp_path / "c.tlc").exists()


def test_binary_coding_with_channel_contexts_saves_bits_on_skewed_channels():
    rng = np.random.default_rng(0)
    n = 2000
    p = np.linspace(0.02, 0.98, 32)[None, :, None, None]
    bits = (rng.random((n, 32, 2, 2)) < p).astype(np.int32)
    contexts = np.broadcast_to(np.arange(32)[None, :, None, None], bits.shape)
    data = encode_bits(bits, contexts, 32)
    assert np.array_equal(decode_bits(data, contexts, 32), bits)
    entropy = -(p * np.log2(p) + (1 - p) * np.log2(1 - p)).mean()
    assert len(data) * 8 < 1.01 * entropy * bits.size + 8 * (4 + 32) + 64
    assert len(data) * 8 < 0.8 * bits.size


def test_truncate_on_the_command_line(codec, small_photo, tmp_path):
    src = tmp_path / "a.tlc"
    src.write_bytes(codec.compress(small_photo, quality=100, patch=None))
    out = tmp_path / "b.tlc"
    run = subprocess.run([sys.executable, "-m", "tilecodec", "truncate", str(src), "-o", str(out), "--iterations", "2"],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert out.read_bytes() == truncate(src.read_bytes(), 2)
    bad = subprocess.run([sys.executable, "-m", "tilecodec", "truncate", str(src), "-o", str(tmp_path / "c.tlc"),
                          "--iterations", "9"], capture_output=True, text=True)
    assert bad.returncode != 0 and "Traceback" not in bad.stderr and not (tmp_path / "c.tlc").exists()


def test_bit_allocation_stops_each_block_at_its_target_or_when_it_stalls():
    x = torch.zeros(4, 3, 32, 32)
    errors = [[900, 900, 900, 100], [500, 100, 50, 100], [40, 30, 20, 30], [10, 8, 7, 1]]  # per iteration, per block
    outputs = [torch.full((4, 3, 32, 32), 0.0) + torch.tensor(e).float().sqrt().view(4, 1, 1, 1) / 255 for e in errors]
    counts = allocate(x, outputs, threshold=60.0, delta=0.7)
    # block 0: 900 -> 500 -> 40 (< 60): 3; block 1: 900 -> 100 -> 30 (< 60): 3;
    # block 2: 900 -> 50 (< 60): 2; block 3: 100 -> 100 stalls: 1
    assert counts.tolist() == [3, 3, 2, 1]


def test_allocated_files_are_smaller_and_truncate_like_any_other(small_photo):
    model = tilecodec.load("tiny-recurrent", shared=False).model
    codec = tilecodec.Codec.from_model(model, "tiny-recurrent")
    plain = codec.compress(small_photo, quality=100, patch=None)
    model.allocate = True
    allocated = codec.compress(small_photo, quality=100, patch=None)
    assert len(allocated) < len(plain)
    assert codec.decompress(allocated).shape == small_photo.shape
    for k in (1, 3):
        assert codec.decompress(truncate(allocated, k)).shape == small_photo.shape
    assert np.array_equal(codec.decompress(truncate(allocated, 1)), codec.decompress(truncate(plain, 1)))


def _predicting(prediction: str) -> tilecodec.Codec:
    """A small (untrained) recurrent model of 4 iterations with intra prediction, registered."""
    torch.manual_seed(1)
    model = RecurrentImageCodec(width=8, iterations=4, prediction=prediction, predictor_width=4).eval()
    config = {"width": 8, "iterations": 4, "prediction": prediction, "predictor_width": 4}
    write_model(model, f"tiny-recurrent-{prediction}", "recurrent", config, zoo.user_dir())
    return tilecodec.load(f"tiny-recurrent-{prediction}")


@pytest.mark.parametrize("prediction", ["single", "multi"])
def test_predicted_files_decode_to_the_encoders_reconstruction_with_its_modes(prediction, photo):
    model = _predicting(prediction).model
    image = torch.from_numpy(np.ascontiguousarray(photo[:64, :128])).permute(2, 0, 1)[None].float() / 255
    for allocate_bits in (False, True):
        model.allocate = allocate_bits
        strings, modes, reconstruction = model.encode_image(image, quality=100)
        assert torch.equal(model.decompress([strings], [(64, 128)], 100)[0], reconstruction)
        assert len(strings) == (2 if prediction == "multi" else 1) + 4
        if prediction == "multi":  # the modes travel in the file and vary from block to block
            assert torch.equal(torch.frombuffer(bytearray(zlib.decompress(strings[1])), dtype=torch.uint8).long(), modes)
            assert len(set(modes.tolist())) > 1 and modes.max() < MODES
        else:
            assert (modes == INPAINTING).all()
    model.allocate = False


@pytest.mark.parametrize("prediction", ["single", "multi"])
def test_predicted_files_stay_progressive(prediction, small_photo):
    codec = _predicting(prediction)
    full = codec.compress(small_photo, quality=100, patch=None)
    side = 2 if prediction == "multi" else 1
    assert info(full).sections == side + 4
    for k in (1, 2, 3):
        cut = truncate(full, k)
        assert info(cut).sections == side + k
        assert codec.decompress(cut).shape == small_photo.shape
        if prediction == "single":  # no choice to make: the cut is the file of k iterations
            assert cut == codec.compress(small_photo, quality=quality_for(k, 4), patch=None)


def test_predicted_files_predict_from_first_iterations_that_every_cut_keeps(small_photo):
    # a block's prediction reads its neighbours after their first iteration: cutting the file to 1
    # iteration leaves every prediction, so it decodes to the full file's first-iteration image
    model = _predicting("single").model
    image = torch.from_numpy(small_photo).permute(2, 0, 1)[None].float() / 255
    one = model.encode_image(image, quality=0)
    full = model.encode_image(image, quality=100)
    assert one[0][1] == full[0][1] and one[0][0] != full[0][0]  # the same first iteration, other counts
    cut = [truncate_counts(full[0][0], 1, 4), full[0][1]]
    assert torch.equal(model.decompress([cut], [(64, 64)], 0)[0], one[2])


def test_corrupt_block_modes_are_refused(small_photo):
    model = _predicting("multi").model
    image = torch.from_numpy(small_photo).permute(2, 0, 1)[None].float() / 255
    strings = model.encode_image(image, quality=40)[0]
    for bad in (zlib.compress(bytes([MODES] * 4)), zlib.compress(bytes(3)), b"\x00junk", strings[1][:-1]):
        with pytest.raises(BitstreamError):
            model.decompress([[strings[0], bad, *strings[2:]]], [(64, 64)], 40)


@pytest.mark.parametrize("prediction", ["none", "multi"])
def test_cut_or_damaged_files_are_bitstream_errors(prediction, codec, small_photo):
    codec = codec if prediction == "none" else _predicting(prediction)
    data = codec.compress(small_photo, quality=100, patch=None)
    for bad in (data[:-3], data[: len(data) // 2], data[:-40] + bytes(40),
                data[:len(data) // 2] + bytes([data[len(data) // 2] ^ 0x10]) + data[len(data) // 2 + 1:]):
        with pytest.raises(BitstreamError):
            codec.decompress(bad)
