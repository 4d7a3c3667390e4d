"""Decoding gives bit-identical pixels with 1 or 2 threads and in fresh processes."""

import subprocess
import sys

import numpy as np

DECODE = """
import sys, torch, numpy as np, tilecodec
torch.set_num_threads(int(sys.argv[1]))
out = tilecodec.load().decompress(open(sys.argv[2], "rb").read())
np.save(sys.argv[3], out)
"""


def test_decode_is_bit_identical_across_threads_and_processes(tmp_path, codec, photo):
    data = codec.compress(photo, quality=60)
    (tmp_path / "f.tlc").write_bytes(data)
    here = codec.decompress(data)
    for threads in (1, 2):
        npy = tmp_path / f"t{threads}.npy"
        subprocess.run([sys.executable, "-c", DECODE, str(threads), str(tmp_path / "f.tlc"), str(npy)], check=True)
        np.testing.assert_array_equal(np.load(npy), here)


def test_encode_is_deterministic(codec, photo):
    assert codec.compress(photo, quality=40) == codec.compress(photo, quality=40)
