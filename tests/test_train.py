"""The training loop: real steps on real crops, atomic checkpoints, exact step accounting on resume."""

import numpy as np
import torch
from PIL import Image

from tilecodec.train import TrainConfig, train


def test_train_checkpoints_and_resumes(tmp_path, photo):
    data = tmp_path / "data" / "nested"
    data.mkdir(parents=True)
    for i in range(3):
        Image.fromarray(np.ascontiguousarray(photo[i * 40: i * 40 + 200, i * 90: i * 90 + 260])).save(data / f"{i}.png")
    Image.fromarray(np.ascontiguousarray(photo[:50, :60, 0])).save(data / "small_gray.png")  # upscaled, to RGB
    ckpt = tmp_path / "run.pt"
    cfg = TrainConfig(data=[str(tmp_path / "data")], N=8, M=8, crop=64, batch=2, steps=3, warmup=2, workers=0)
    train(cfg, ckpt)
    state = torch.load(ckpt, weights_only=False)
    assert state["step"] == 3 and not list(tmp_path.glob("*.tmp"))
    before = {k: v.clone() for k, v in state["model"].items()}
    cfg.steps = 5
    train(cfg, ckpt, resume=True)
    state = torch.load(ckpt, weights_only=False)
    assert state["step"] == 5
    changed = [k for k, v in state["model"].items() if v.dtype.is_floating_point and not torch.equal(v, before[k])]
    assert changed, "resumed training did not update the model"
    log = (tmp_path / "run.csv").read_text().splitlines()
    assert log[0].startswith("step,")


def test_variable_rate_training_logs_real_bitstream_evaluation(tmp_path, photo):
    data, held_out = tmp_path / "data", tmp_path / "eval"
    data.mkdir()
    held_out.mkdir()
    for i in range(2):
        Image.fromarray(np.ascontiguousarray(photo[i * 50: i * 50 + 200, i * 90: i * 90 + 260])).save(data / f"{i}.png")
    Image.fromarray(np.ascontiguousarray(photo[:100, :130])).save(held_out / "e.png")
    cfg = TrainConfig(data=[str(data)], N=8, M=8, crop=64, batch=4, steps=2, warmup=1, workers=0,
                      lmbdas=[0.002, 0.02], eval_data=str(held_out), eval_every=2, eval_qualities=(0, 100))
    train(cfg, tmp_path / "run.pt")
    state = torch.load(tmp_path / "run.pt", weights_only=False)
    assert {"gain.log_gain", "inverse_gain.log_gain", "latent_codec.z_gain.log_gain"} <= set(state["model"])
    rows = (tmp_path / "run.eval.csv").read_text().splitlines()
    assert rows[0] == "step,quality,bpp,psnr,ms_ssim" and len(rows) == 3
    assert all(float(r.split(",")[2]) > 0 for r in rows[1:])  # real files have a size
    # trained from scratch, the levels start apart, as step scaling: gain ~ sqrt(lambda)
    log_gain = state["model"]["gain.log_gain"]
    assert (log_gain[1] - log_gain[0]).mean() > 0.5 * 0.5 * np.log(10)


def test_schedule_warms_up_then_decays_by_steps_or_deadline():
    from tilecodec.train.loop import lr_at

    cfg = TrainConfig(lr=1e-3, warmup=10, steps=110)
    assert lr_at(0, cfg) == 1e-3 / 10 and lr_at(9, cfg) == 1e-3
    assert lr_at(60, cfg) < lr_at(20, cfg) and abs(lr_at(110, cfg) - 2e-5) < 1e-12
    assert lr_at(20, cfg, elapsed=0.0) > lr_at(20, cfg, elapsed=0.5) > lr_at(20, cfg, elapsed=1.0)
    assert abs(lr_at(20, cfg, elapsed=1.0) - 2e-5) < 1e-12  # the time budget ends the decay early
    assert lr_at(100, cfg, elapsed=0.1) == lr_at(100, cfg)  # step progress still counts when ahead


def test_train_only_updates_the_named_parameters_and_freezes_the_rest(tmp_path, photo):
    data = tmp_path / "data"
    data.mkdir()
    Image.fromarray(np.ascontiguousarray(photo[:200, :260])).save(data / "0.png")
    base = dict(data=[str(data)], architecture="joint-autoregressive", N=8, M=8, crop=64, batch=2, warmup=1,
                workers=0)
    train(TrainConfig(**base, steps=1), tmp_path / "init.pt")
    from safetensors.torch import save_file

    start = torch.load(tmp_path / "init.pt", weights_only=False)["model"]
    save_file({k: v.contiguous() for k, v in start.items()}, tmp_path / "init.safetensors")
    train(TrainConfig(**base, steps=3, init=str(tmp_path / "init.safetensors"), train_only=["latent_codec.y."]),
          tmp_path / "run.pt")
    after = torch.load(tmp_path / "run.pt", weights_only=False)["model"]
    changed = {k for k, v in after.items() if v.dtype.is_floating_point and not torch.equal(v, start[k])}
    assert any(k.startswith("latent_codec.y.context") for k in changed)
    assert changed <= {k for k in after if k.startswith("latent_codec.y.") or k.endswith("quantiles")}
