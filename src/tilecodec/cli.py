"""Command-line interface: argument parsing and printing only; the work is in the API.

Exit status: 0 on success, 1 for every error (one line on stderr), 2 for usage errors
(unknown options, missing arguments), 130 when interrupted.
"""

import argparse
import os
import sys
from pathlib import Path

from .api import DEFAULT_OVERLAP, DEFAULT_PATCH
from .errors import ParameterError, TilecodecError
from .models import ARCHITECTURES
from .tiling import OVERLAPS

LOSSLESS = (".png", ".bmp", ".ppm", ".pgm", ".pnm", ".tif", ".tiff")
LOSSY = (".jpg", ".jpeg", ".webp")


def _out_path(args, source: Path, suffixes: tuple, what: str) -> Path:
    """The checked output path, before any work: its suffix, its folder, not the input, not
    a directory, not an existing file without --force."""
    out = Path(args.output)
    if out.suffix.lower() not in suffixes:
        raise ParameterError(f"{out}: {what} output must end in {', '.join(suffixes)}")
    if out.is_dir():
        raise TilecodecError(f"{out}: is a directory")
    if out.exists() and source.exists() and out.resolve() == source.resolve():
        raise TilecodecError(f"{out}: output would overwrite the input")
    if out.exists() and not args.force:
        raise TilecodecError(f"{out}: already exists (use --force to overwrite)")
    folder = out.parent if str(out.parent) else Path(".")
    if not folder.is_dir():
        raise TilecodecError(f"{folder}: no such directory")
    if not os.access(folder, os.W_OK):
        raise TilecodecError(f"{folder}: not writable")
    return out


def _region(text: str | None):
    if text is None:
        return None
    try:
        x, y, w, h = (int(v) for v in text.split(","))
    except ValueError:
        raise TilecodecError(f"--region must be x,y,w,h (four integers), got {text!r}") from None
    return x, y, w, h


def _memory(text: str | None):
    if text is None:
        return None
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    t = text.strip().lower().removesuffix("b")
    try:
        return int(float(t[:-1]) * units[t[-1]]) if t and t[-1] in units else int(t)
    except ValueError:
        raise TilecodecError(f"--max-memory must be bytes or a size like 512M or 2G, got {text!r}") from None


def _patch(text: str):
    if text.lower() in ("none", "0", "whole"):
        return None
    try:
        return int(text)
    except ValueError:
        raise TilecodecError(f"--patch must be a size in pixels or 'none', got {text!r}") from None


def _batch(args, tlc_inputs: bool) -> int:
    """A folder in, a folder out (``batch``): progress, one line per failed file, a report."""
    import time

    from tqdm import tqdm

    from . import batch

    source, out_dir = Path(args.input), Path(args.output)
    if out_dir.exists() and not out_dir.is_dir():
        raise TilecodecError(f"{out_dir}: not a directory (a folder input needs an output folder)")
    if out_dir.resolve() == source.resolve():
        raise TilecodecError(f"{out_dir}: the output folder must differ from the input folder")
    paths = batch.find_inputs(source, args.recursive, tlc_inputs)
    if tlc_inputs:
        results = batch.decompress_many(paths, out_dir, root=source, workers=args.workers, force=args.force,
                                        max_memory=_memory(args.max_memory))
    else:
        results = batch.compress_many(paths, out_dir, root=source, workers=args.workers, force=args.force,
                                      **_compress_options(args))
    done, start, megabytes = [], time.perf_counter(), 0.0
    with tqdm(total=len(paths), unit="img", desc="decompress" if tlc_inputs else "compress") as bar:
        for r in results:
            done.append(r)
            megabytes += r.bytes_in / 1e6
            bar.set_postfix_str(f"{megabytes / max(time.perf_counter() - start, 1e-9):.2f} MB/s")
            bar.update()
    failed = [r for r in done if r.status == "failed"]
    report = Path(args.report) if args.report else out_dir / "tilecodec-report.json"
    out_dir.mkdir(parents=True, exist_ok=True)
    batch.write_report(done, report)
    counts = {s: sum(r.status == s for r in done) for s in ("done", "skipped", "failed")}
    print(f"{out_dir}: {counts['done']} coded, {counts['skipped']} skipped (already there), "
          f"{counts['failed']} failed; report {report}")
    for r in failed:
        print(f"tilecodec: error: {r.error if r.error.startswith(r.source) else f'{r.source}: {r.error}'}",
              file=sys.stderr)
    return 1 if failed else 0


def _compress_options(args) -> dict:
    if args.bpp is not None and args.quality is not None:
        raise ParameterError("give --quality or --bpp, not both")
    return dict(model=args.model, quality=75.0 if args.quality is None else args.quality, bpp=args.bpp,
                patch=_patch(args.patch), overlap=args.overlap, max_memory=_memory(args.max_memory),
                refine=args.refine, allocate=args.allocate)


def cmd_compress(args) -> int | None:
    from . import load
    from .images import load_image
    from .metrics import bpp

    if Path(args.input).is_dir():
        return _batch(args, tlc_inputs=False)
    if args.bpp is not None and args.quality is not None:
        raise ParameterError("give --quality or --bpp, not both")
    source = Path(args.input)
    out = _out_path(args, source, (".tlc",), "compress")
    array = load_image(source)
    quality = 75.0 if args.quality is None else args.quality
    codec = load(args.model, allocate=args.allocate)
    size = codec.compress_to_file(array, out, quality=quality, patch=_patch(args.patch), overlap=args.overlap,
                                  max_memory=_memory(args.max_memory), bpp=args.bpp, refine=args.refine)
    h, w = array.shape[:2]
    print(f"{out}: {w}x{h}, {size} bytes, {bpp(size, array):.4f} bpp")


def cmd_decompress(args) -> int | None:
    from . import info, load
    from .api import read_file
    from .images import save_image

    if Path(args.input).is_dir():
        return _batch(args, tlc_inputs=True)
    out = _out_path(args, Path(args.input), LOSSLESS + (LOSSY if args.lossy else ()),
                    "decompress" if args.lossy else "decompress (lossless; --lossy allows JPEG and WebP)")
    data = read_file(args.input)
    header = info(data)
    region = _region(args.region)
    array = load(header.model).decompress(data, region=region, max_memory=_memory(args.max_memory))
    save_image(array, out)
    print(f"{out}: {array.shape[1]}x{array.shape[0]}")


def cmd_truncate(args) -> None:
    from .api import read_file, truncate
    from .files import atomic_write

    out = _out_path(args, Path(args.input), (".tlc",), "truncate")
    data = truncate(read_file(args.input), args.iterations)
    atomic_write(out, [data])
    print(f"{out}: {len(data)} bytes, {args.iterations} iterations")


def cmd_info(args) -> None:
    from . import container
    from .api import read_file

    data = read_file(args.input)
    header, sections = container.unpack(data)
    pixels = header.width * header.height
    sizes = [len(s) for s in sections]
    layout = f"{header.patch} px, overlap {header.overlap}" if header.patch else "whole image"
    print(f"format:    version {header.version}")
    print(f"model:     {header.model} ({header.model_hash})")
    print(f"size:      {header.width}x{header.height}, {header.channels} channel{'s' if header.channels > 1 else ''}")
    print(f"quality:   {header.quality:g} (step {header.step:.4f})")
    print(f"patches:   {layout}")
    shown = f"{', '.join(map(str, sizes))} bytes" if len(sizes) <= 6 else \
        f"{min(sizes)} to {max(sizes)} bytes each, {sum(sizes)} in all"
    print(f"sections:  {len(sections)} ({shown})")
    print(f"bytes:     {len(data)} ({8 * len(data) / pixels:.4f} bpp)")


def cmd_models(args) -> None:
    from . import zoo

    rows = [("model", "architecture", "trained for", "levels", "MB", "where")]
    for name, e in sorted(zoo.registry().items(), key=lambda kv: (not kv[1].bundled, kv[0])):
        size = e.path.stat().st_size / 1e6 if e.path.exists() else float("nan")
        role = " (default)" if name == zoo.DEFAULT_MODEL else " (reference)" if e.reference or e.companion else ""
        where = ("bundled" if e.bundled else str(e.folder)) + (f", on {e.base}" if e.base else "")
        rows.append((name + role, e.architecture, e.distortion, str(len(e.config.get("lmbdas", [])) or "-"),
                     f"{size:.1f}", where))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip())


def cmd_demo(args) -> None:
    from .demo import run

    for line in run(args.quality, args.model):
        print(line)


def cmd_train(args) -> None:
    from .extras import require
    from .train import TrainConfig, train

    require("torch.utils.tensorboard", "tilecodec train")
    if args.distortion == "ms-ssim":
        require("pytorch_msssim", "training for MS-SSIM")

    cfg = TrainConfig(data=args.data, lmbda=args.lmbda, steps=args.steps, crop=args.crop, batch=args.batch,
                      anneal_by_deadline=args.anneal_by_deadline, lr=args.lr, N=args.N, M=args.M,
                      widths=args.widths, hyper_widths=args.hyper_widths, architecture=args.architecture, init=args.init,
                      lmbdas=args.lmbdas, init_lmbda=args.init_lmbda, eval_data=args.eval,
                      eval_every=args.eval_every, workers=args.workers, warmup=args.warmup,
                      distortion=args.distortion, correlation=args.correlation, correlation_k=args.correlation_k,
                      train_only=args.train_only)
    train(cfg, Path(args.checkpoint), resume=args.resume, max_minutes=args.max_minutes)


def cmd_export(args) -> None:
    from .train import export

    e = export(Path(args.checkpoint), args.name, args.description, calibrate=args.calibrate,
               calibrate_images=args.calibrate_images, log=print, out=args.out, bundle=args.bundle, base=args.base)
    print(f"exported {e.name}: {e.path} sha256 {e.sha256[:16]}...")


def cmd_train_intra(args) -> None:
    from .train.intra import train_intra

    last = train_intra(args.kind, args.data, Path(args.out), steps=args.steps, batch=args.batch, lr=args.lr,
                       width=args.width, max_minutes=args.max_minutes, workers=args.workers)
    print(f"wrote {args.out} after {last['step']} steps: prediction MSE {last['mse']:.5f} ({last['psnr']:.2f} dB)")


def cmd_train_recurrent(args) -> None:
    from .train.recurrent import train_recurrent

    last = train_recurrent(args.data, Path(args.out), steps=args.steps, batch=args.batch, iterations=args.iterations,
                           lr=args.lr, width=args.width, max_minutes=args.max_minutes, workers=args.workers,
                           prediction=args.prediction, init=args.init)
    print(f"wrote {args.out} after {last['step']} steps: {last['psnr_last']:.2f} dB after {args.iterations} iterations")


def cmd_train_patch_vae(args) -> None:
    from .train.patch_vae import train_patch_vae

    last = train_patch_vae(args.data, Path(args.out), predictor=args.predictor, closed_loop=args.closed_loop,
                           hyperprior=args.hyperprior, lmbdas=args.lmbdas, N=args.N, M=args.M, width=args.width,
                           steps=args.steps, batch=args.batch, lr=args.lr, max_minutes=args.max_minutes,
                           workers=args.workers, init=args.init)
    print(f"wrote {args.out} after {last['step']} steps: {last['bpp']:.3f} bpp, {last['psnr']:.2f} dB")


def cmd_export_onnx(args) -> None:
    from .deploy import export_onnx

    manifest = export_onnx(args.model, args.out_dir, log=print)
    print(f"wrote {manifest}; tilecodec.deploy.load_onnx({str(manifest.parent)!r}) codes with these graphs")


def cmd_serve(args) -> None:
    from .extras import require

    for module in ("starlette", "uvicorn", "imagecodecs", "pytorch_msssim"):
        require(module, "tilecodec serve")
    from .serve.app import serve

    serve(args.host, args.port, max_upload=int(args.max_upload * 1e6), max_pixels=int(args.max_pixels * 1e6))


def cmd_bench(args) -> None:
    from .extras import require

    for module in ("scipy", "imagecodecs", "matplotlib", "pytorch_msssim"):
        require(module, "tilecodec bench")
    from .bench import run_bench
    from .bench.sweep import default_workers

    run_bench(args.dataset, codecs=args.codecs, out=args.out, plot_path=args.plot, report_path=args.report,
              references=args.reference, anchor=args.anchor, target_bpp=args.target_bpp,
              target_psnr=args.target_psnr, workers=args.workers or default_workers(), threads=args.threads,
              avif_speed=args.avif_speed, points=args.points, report_images=args.report_images or None)


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line on stderr like every other error."""

    def error(self, message):
        self.exit(2, f"tilecodec: error: {message} (see tilecodec --help)\n")


def _batch_options(p) -> None:
    p.add_argument("--workers", type=int, default=1, help="folder input: worker processes (default 1)")
    p.add_argument("--recursive", action="store_true", help="folder input: include subfolders, keeping their structure")
    p.add_argument("--report", default=None,
                   help="folder input: report of sizes, bpp and times, .json or .csv "
                        "(default OUTPUT/tilecodec-report.json)")


def parser() -> argparse.ArgumentParser:
    from . import __version__

    p = _Parser(prog="tilecodec", description="Learned image compression on the CPU.",
                epilog="Exit status: 0 on success, 1 for errors (one line on stderr), 2 for usage errors.")
    p.add_argument("--version", action="version", version=f"tilecodec {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    c = sub.add_parser("compress", help="image -> .tlc file")
    c.add_argument("input", help="image file: 8-bit RGB or grayscale (PNG, JPEG, WebP, BMP, PPM, TIFF); "
                                 "or a folder of them, coded into the output folder")
    c.add_argument("-o", "--output", required=True, help="the .tlc file to write (a folder for a folder input)")
    c.add_argument("--model", default=None, help="model name (see `tilecodec models`) or path of a model's .safetensors file (default ckbd-mse)")
    c.add_argument("--quality", type=float, default=None, help="0-100, higher is better (default 75)")
    c.add_argument("--bpp", type=float, default=None,
                   help="aim at this many bits per pixel (within 2%%) instead of a quality (default: off)")
    c.add_argument("--patch", default=str(DEFAULT_PATCH),
                   help=f"largest cell in pixels, a multiple of 16 (32 for block codecs), or 'none' for the whole image (default {DEFAULT_PATCH})")
    c.add_argument("--overlap", type=int, default=DEFAULT_OVERLAP, choices=OVERLAPS,
                   help=f"overlap between patches in pixels (default {DEFAULT_OVERLAP})")
    c.add_argument("--max-memory", default=None,
                   help="working-memory budget of the transforms, e.g. 512M or 2G (default 1G)")
    c.add_argument("--refine", type=int, default=0, metavar="STEPS",
                   help="encoder-side latent refinement steps (fewer bits, much slower; e.g. 30; default 0)")
    c.add_argument("--allocate", action="store_true",
                   help="bit allocation per block: stop each block's iterations once it reaches the quality's "
                        "error target (recurrent models)")
    c.add_argument("-f", "--force", action="store_true", help="overwrite an existing output file")
    _batch_options(c)
    c.set_defaults(run=cmd_compress)

    d = sub.add_parser("decompress", help=".tlc file -> image (PNG)")
    d.add_argument("input", help="the .tlc file to decode, or a folder of them (decoded to PNG in the output folder)")
    d.add_argument("-o", "--output", required=True,
                   help=f"image to write: {', '.join(LOSSLESS)} (lossless), or with --lossy also {', '.join(LOSSY)}")
    d.add_argument("--region", default=None, help="decode only this box: x,y,w,h (default: the whole image)")
    d.add_argument("--max-memory", default=None,
                   help="working-memory budget of the transforms, e.g. 512M or 2G (default 1G)")
    d.add_argument("--lossy", action="store_true", help="allow a lossy output format (JPEG, WebP)")
    d.add_argument("-f", "--force", action="store_true", help="overwrite an existing output file")
    _batch_options(d)
    d.set_defaults(run=cmd_decompress)

    tc = sub.add_parser("truncate", help="keep the first iterations of a progressive (recurrent model's) file")
    tc.add_argument("input", help="the .tlc file")
    tc.add_argument("-o", "--output", required=True, help="the shorter .tlc file to write")
    tc.add_argument("--iterations", type=int, required=True, help="iterations to keep (1 to the file's)")
    tc.add_argument("-f", "--force", action="store_true", help="overwrite an existing output file")
    tc.set_defaults(run=cmd_truncate)

    i = sub.add_parser("info", help="print a .tlc file's header and sections")
    i.add_argument("input", help="the .tlc file")
    i.set_defaults(run=cmd_info)

    sub.add_parser("models", help="list the bundled models").set_defaults(run=cmd_models)

    m = sub.add_parser("demo", help="code the bundled sample photo and compare with JPEG")
    m.add_argument("--quality", type=float, default=75, help="0-100 (default 75)")
    m.add_argument("--model", default=None, help="model name (default ckbd-mse)")
    m.set_defaults(run=cmd_demo)

    t = sub.add_parser("train", help="train a model (resumable, time-boxed; run under torchrun for DDP)")
    t.add_argument("data", nargs="+", help="image folders, searched recursively")
    t.add_argument("--checkpoint", required=True, help="checkpoint file, written atomically every 5 minutes")
    t.add_argument("--architecture", default="mean-scale-hyperprior",
                   help="one of: " + ", ".join(a for a in ARCHITECTURES if a not in ("predictive-patch", "recurrent"))
                        + " (default mean-scale-hyperprior)")
    t.add_argument("--N", type=int, default=128, help="hidden channels (default 128)")
    t.add_argument("--M", type=int, default=192, help="latent channels (default 192)")
    t.add_argument("--widths", type=int, nargs=3, default=None, metavar="C",
                   help="transform stage widths, full resolution inward (default N N N)")
    t.add_argument("--hyper-widths", type=int, nargs=2, default=None, metavar="C",
                   help="hyper-synthesis hidden widths (default M 3M/2)")
    t.add_argument("--lmbda", type=float, default=0.01, help="rate-distortion trade-off (single rate)")
    t.add_argument("--lmbdas", type=float, nargs="+", default=None,
                   help="variable rate: one gain-unit level per lambda, ascending")
    t.add_argument("--init-lmbda", type=float, default=0.025, help="lambda the --init weights were trained at")
    t.add_argument("--eval", default=None, help="held-out image folder coded with real bitstreams during training")
    t.add_argument("--eval-every", type=int, default=1000, help="steps between evaluations (default 1000)")
    t.add_argument("--workers", type=int, default=1, help="data-loading worker processes")
    t.add_argument("--warmup", type=int, default=200, help="linear learning-rate warm-up steps (default 200)")
    t.add_argument("--distortion", choices=("mse", "ms-ssim"), default="mse", help="training distortion (default mse)")
    t.add_argument("--correlation", type=float, default=0.0,
                   help="alpha of the latent correlation loss (Ali et al., 2023); 0 = off")
    t.add_argument("--correlation-k", type=int, default=5, help="window of the correlation loss")
    t.add_argument("--steps", type=int, default=20000, help="total steps of the schedule (default 20000)")
    t.add_argument("--crop", type=int, default=256, help="crop side in pixels (default 256)")
    t.add_argument("--batch", type=int, default=16, help="crops per step (default 16)")
    t.add_argument("--lr", type=float, default=8e-4, help="peak learning rate of Adam (default 8e-4)")
    t.add_argument("--resume", action="store_true", help="continue from --checkpoint if it exists")
    t.add_argument("--init", default=None, help="start from a bundled model's weights (name or .safetensors)")
    t.add_argument("--max-minutes", type=float, default=None, help="stop cleanly after this many minutes (default: none)")
    t.add_argument("--train-only", nargs="+", default=None, metavar="PREFIX",
                   help="train only the parameters whose names start with a PREFIX (for example latent_codec.y. "
                        "for a context model's networks on --init transforms); the rest stays frozen")
    t.add_argument("--anneal-by-deadline", action="store_true",
                   help="finish the cosine decay by --max-minutes even if --steps is not reached")
    t.set_defaults(run=cmd_train)

    b = sub.add_parser("bench", help="rate-distortion benchmark against classical codecs")
    b.add_argument("dataset", help="folder of images")
    b.add_argument("--codecs", nargs="+", default=None,
                   help="tilecodec-MODEL[@whole|@pPnN][+rSTEPS], jpeg, webp, jpeg2000, avif, jpegxl (default: all)")
    b.add_argument("--out", default="results.json", help="results JSON (CompressAI schema per codec)")
    b.add_argument("--plot", default=None, help="RD plot path (.png and .svg are written)")
    b.add_argument("--report", default=None, help="self-contained HTML page of matched-bpp crops")
    b.add_argument("--report-images", type=int, default=8, help="images shown in the report (0: all)")
    b.add_argument("--reference", nargs="*", default=[], help="published curves (CompressAI JSON) to add")
    b.add_argument("--anchor", default=None, help="codec the BD-rate table is against (default jpeg)")
    b.add_argument("--target-bpp", type=float, default=None, help="also bisect every codec to this bpp")
    b.add_argument("--target-psnr", type=float, default=None, help="also bisect every codec to this PSNR")
    b.add_argument("--workers", type=int, default=None, help="worker processes (default: CPU count)")
    b.add_argument("--threads", type=int, default=1, help="torch threads per worker")
    b.add_argument("--avif-speed", type=int, default=6, help="libavif speed, 0-10 (default 6)")
    b.add_argument("--points", type=int, default=None, help="use only this many settings of each codec's sweep")
    b.set_defaults(run=cmd_bench)

    e = sub.add_parser("export", help="turn a training checkpoint into a model (NAME.safetensors + NAME.json)")
    e.add_argument("checkpoint", help="checkpoint written by tilecodec train, or an exported model (name or "
                   ".safetensors) to re-export, say with --calibrate")
    e.add_argument("name", help="model name (files name their model by it and by its weights' hash)")
    e.add_argument("--out", default=None, metavar="DIR",
                   help="folder to write to (default: the user model directory, $TILECODEC_MODELS or "
                        "~/.local/share/tilecodec/models, where --model finds it by name)")
    e.add_argument("--bundle", action="store_true",
                   help="write into the package's bundled zoo instead (for maintainers)")
    e.add_argument("--description", default="", help="one line stored in the model's entry")
    e.add_argument("--calibrate", nargs="+", metavar="DIR",
                   help="calibrate the per-level scale floors on crops from these image folders")
    e.add_argument("--calibrate-images", type=int, default=16, help="crops used for calibration (default 16)")
    e.add_argument("--base", default=None, metavar="MODEL",
                   help="store only the tensors that differ from this model's (trained with --train-only from "
                        "--init MODEL); loading then needs MODEL unchanged")
    e.set_defaults(run=cmd_export)

    ti = sub.add_parser("train-intra", help="train a learned intra predictor on random 96x64 windows")
    ti.add_argument("kind", choices=["inpainting", "extended"], help="inpainting (64x64 context) or extended "
                                                                     "(four causal neighbours)")
    ti.add_argument("data", nargs="+", help="image folders, searched recursively")
    ti.add_argument("--out", required=True, help="the .safetensors file to write")
    ti.add_argument("--steps", type=int, default=20000, help="steps of the cosine schedule (default 20000)")
    ti.add_argument("--batch", type=int, default=32, help="windows per step (default 32)")
    ti.add_argument("--lr", type=float, default=2e-4, help="peak learning rate of Adam (default 2e-4)")
    ti.add_argument("--width", type=int, default=64, help="channels of the first layer (default 64)")
    ti.add_argument("--max-minutes", type=float, default=None, help="stop after this many minutes (default: none)")
    ti.add_argument("--workers", type=int, default=2, help="data-loading processes (default 2)")
    ti.set_defaults(run=cmd_train_intra)

    tr = sub.add_parser("train-recurrent", help="train the recurrent progressive codec's networks on 32x32 patches")
    tr.add_argument("data", nargs="+", help="image folders, searched recursively")
    tr.add_argument("--out", required=True, help="the .safetensors file to write")
    tr.add_argument("--steps", type=int, default=20000, help="steps of the cosine schedule (default 20000)")
    tr.add_argument("--batch", type=int, default=32, help="patches per step (default 32)")
    tr.add_argument("--iterations", type=int, default=16, help="iterations trained, 128 bits a patch each (default 16)")
    tr.add_argument("--lr", type=float, default=5e-4, help="peak learning rate of Adam (default 5e-4)")
    tr.add_argument("--width", type=int, default=32, help="encoder's first width; 64 is the paper's (default 32)")
    tr.add_argument("--max-minutes", type=float, default=None, help="stop after this many minutes (default: none)")
    tr.add_argument("--workers", type=int, default=2, help="data-loading processes (default 2)")
    tr.add_argument("--prediction", choices=("none", "single", "multi"), default="none",
                    help="code blocks from intra predictions: the inpainting predictor's (single) or the best "
                         "of none, the learned predictors and the HEVC modes (multi); default none")
    tr.add_argument("--init", default=None, metavar="MODEL",
                    help="start from these networks: a file this command wrote, or a recurrent model")
    tr.set_defaults(run=cmd_train_recurrent)

    tp = sub.add_parser("train-patch-vae", help="train a variational patch codec with intra prediction")
    tp.add_argument("data", nargs="+", help="image folders, searched recursively")
    tp.add_argument("--out", required=True, help="the .safetensors file to write")
    tp.add_argument("--predictor", choices=["none", "pretrained", "embedded"], default="embedded",
                    help="none (the baseline), the bundled inpainting predictor (frozen), or one trained "
                         "with the codec (default)")
    tp.add_argument("--closed-loop", action="store_true",
                    help="predict from the model's own reconstructions of the neighbours")
    tp.add_argument("--hyperprior", action="store_true", help="a mean-scale hyperprior per patch")
    tp.add_argument("--init", metavar="MODEL",
                    help="start from this predictive-patch model (name or path): its predictor and widths, "
                         "new --lmbdas (as many levels), closed loop from the first step if --closed-loop")
    tp.add_argument("--lmbdas", type=float, nargs="+", default=[0.0004, 0.0009, 0.0018, 0.0035, 0.0067, 0.013,
                                                                 0.025, 0.0483],
                    help="one rate level per lambda, ascending (gain units)")
    tp.add_argument("--N", type=int, default=128, help="hidden channels (default 128)")
    tp.add_argument("--M", type=int, default=128, help="latent channels (default 128)")
    tp.add_argument("--width", type=int, default=64, help="the embedded predictor's first width (default 64)")
    tp.add_argument("--steps", type=int, default=20000, help="steps of the cosine schedule (default 20000)")
    tp.add_argument("--batch", type=int, default=32, help="windows per step (default 32)")
    tp.add_argument("--lr", type=float, default=5e-4, help="peak learning rate of Adam (default 5e-4)")
    tp.add_argument("--max-minutes", type=float, default=None, help="stop after this many minutes (default: none)")
    tp.add_argument("--workers", type=int, default=2, help="data-loading processes (default 2)")
    tp.set_defaults(run=cmd_train_patch_vae)

    x = sub.add_parser("export-onnx", help="a model's transforms as ONNX graphs (dynamic image size)")
    x.add_argument("model", help="model name or .safetensors path")
    x.add_argument("out_dir", help="folder for PART.onnx and tilecodec-onnx.json (created if missing)")
    x.set_defaults(run=cmd_export_onnx)

    w = sub.add_parser("serve", help="a local web page comparing tilecodec with JPEG, WebP, AVIF and JPEG XL")
    w.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1, this machine only)")
    w.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    w.add_argument("--max-upload", type=float, default=50, metavar="MB", help="largest upload in MB (default 50)")
    w.add_argument("--max-pixels", type=float, default=24, metavar="MP",
                   help="largest image in megapixels (default 24)")
    w.set_defaults(run=cmd_serve)
    return p


def _join_option_values(argv: list[str]) -> list[str]:
    """``--region -10,0,5,5`` as ``--region=-10,0,5,5``: argparse would take a value that
    starts with a dash for an option."""
    out = []
    for arg in argv:
        if out and out[-1] == "--region" and arg.startswith("-"):
            out[-1] = f"--region={arg}"
        else:
            out.append(arg)
    return out


def main(argv=None) -> int:
    args = parser().parse_args(_join_option_values(list(sys.argv[1:] if argv is None else argv)))
    try:
        status = args.run(args)
    except TilecodecError as exc:
        print(f"tilecodec: error: {exc}", file=sys.stderr)
        return 1
    except (OSError, ValueError, FloatingPointError) as exc:
        print(f"tilecodec: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("tilecodec: interrupted", file=sys.stderr)
        return 130
    return status or 0


if __name__ == "__main__":
    sys.exit(main())
