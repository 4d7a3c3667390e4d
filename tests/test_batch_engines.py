"""The documented recipe for coding on a distributed engine runs: Dask, on a local cluster."""

import numpy as np
import pytest
from PIL import Image

distributed = pytest.importorskip("dask.distributed", reason="dask[distributed] is not installed")


def test_the_per_image_unit_of_work_runs_on_a_dask_local_cluster(tmp_path, small_photo):
    from tilecodec import decompress_many
    from tilecodec.batch import compress_one, set_threads

    sources = []
    for i in range(3):
        path = tmp_path / "photos" / f"{i}.png"
        path.parent.mkdir(exist_ok=True)
        Image.fromarray(np.ascontiguousarray(np.roll(small_photo, 7 * i, axis=1))).save(path)
        sources.append(path)
    (tmp_path / "photos" / "bad.png").write_bytes(b"no")
    sources.append(tmp_path / "photos" / "bad.png")
    outputs = [tmp_path / "coded" / s.with_suffix(".tlc").name for s in sources]
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        client.run(set_threads, 1)
        results = [f.result() for f in distributed.as_completed(client.map(compress_one, sources, outputs, quality=50))]
    by_name = {r.source.split("/")[-1]: r for r in results}
    assert by_name["bad.png"].status == "failed" and "cannot read" in by_name["bad.png"].error
    assert all(by_name[f"{i}.png"].status == "done" for i in range(3))
    decoded = list(decompress_many(outputs[:3], tmp_path / "decoded"))
    assert [r.status for r in decoded] == ["done"] * 3
    assert np.asarray(Image.open(tmp_path / "decoded" / "0.png")).shape == small_photo.shape
