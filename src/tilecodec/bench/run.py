"""``tilecodec bench``: sweep codecs over a dataset, then write curves, BD-rates, plots
and a visual report. Every number comes from real encodes and decodes."""

import json
from pathlib import Path

import numpy as np

from .bdrate import METHOD
from .codecs import default_codecs, get_codec
from .report import bd_pairs, curve, detail_crop, html_report, load_reference, markdown_table, plot, png_data_uri
from ..numerics import cpu_name
from .sweep import Cache, find_images, match, read_rgb, run_tasks, sweep


def _match_task(image, codec_name, avif_speed, metric, target, tol, box, known):
    from .sweep import _codec, _record

    codec = _codec(codec_name, avif_speed)
    point, out, new = match(codec, read_rgb(image.path), metric, target, tol, known)
    crop = None
    if box is not None:
        x, y, w, h = box
        crop = png_data_uri(np.ascontiguousarray(out[y: y + h, x: x + w]))
    return dict(image=image.name, codec=codec.name, point=point, crop=crop,
                new=[_record(codec, image, p) for p in new])


def _json_safe(obj):
    if isinstance(obj, float) and obj != obj:
        return None
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_json_safe(v) for v in obj]
    return obj


def _match(names, images, cache, targets, shown, report_path, title, workers, threads, avif_speed) -> dict:
    """Every codec searched to each (metric, target, tolerance) of ``targets`` on every image,
    reusing and extending the cache; with ``report_path``, the HTML page of the ``shown``
    images' crops at the bpp target. Returns the mean point per codec and target."""
    boxes = {i.name: detail_crop(read_rgb(i.path)) for i in shown}
    matched = {}
    keys = {n: get_codec(n, avif_speed).cache_key for n in names}

    def known(name, image):
        prefix = f"{keys[name]}|"
        return {p["setting"]: {k: v for k, v in p.items() if k not in ("key", "codec", "image", "digest")}
                for key, p in cache.points.items() if key.startswith(prefix) and key.endswith(f"|{image.digest}")}

    for metric, target, tol in targets:
        results = []

        def keep(result):
            results.append(result)
            for rec in result.pop("new"):
                cache.add(rec)

        tasks = [(i, n, avif_speed, metric, target, tol, boxes.get(i.name) if metric == "bpp" else None,
                  known(n, i)) for n in names for i in images]
        run_tasks(_match_task, tasks, workers, threads, keep, f"match {metric}={target:g}")
        summary = {}
        for n in names:
            rs = [r["point"] for r in results if r["codec"] == n]
            summary[n] = {k: float(np.nanmean([p[k] for p in rs])) for k in ("bpp", "psnr_rgb", "ms_ssim")}
            summary[n]["settings"] = {r["image"]: r["point"]["setting"] for r in results if r["codec"] == n}
        matched[f"{metric}={target:g}"] = summary
        if metric == "bpp" and report_path:
            by_image = {}
            for r in results:
                by_image.setdefault(r["image"], {})[r["codec"]] = r
            originals = {}
            for i in shown:
                x, y, w, h = boxes[i.name]
                originals[i.name] = (png_data_uri(np.ascontiguousarray(read_rgb(i.path)[y: y + h, x: x + w])),
                                     boxes[i.name])
            Path(report_path).write_text(html_report(by_image, originals, target, title))
    return matched


def run_bench(dataset, codecs=None, out="results.json", plot_path=None, report_path=None, references=(),
              anchor=None, target_bpp=None, target_psnr=None, workers=1, threads=1, avif_speed=6,
              cache_path=None, points=None, report_images=8, log=print) -> dict:
    """Run the benchmark and write its outputs; returns the results document. The HTML
    report shows the first ``report_images`` images (None: all; each adds about 0.6 MB)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    images = find_images(dataset)
    names = list(codecs or default_codecs())
    for n in names:
        get_codec(n, avif_speed)  # fail fast on unknown names
    refs = [load_reference(r) for r in references]
    cache = Cache(Path(cache_path) if cache_path else out.parent / f".{out.stem}.cache.jsonl")
    measured = sweep(names, images, cache, workers, threads, avif_speed, points)
    curves = [curve(n, get_codec(n, avif_speed).description, measured[n]) for n in names] + refs
    pairs = bd_pairs(curves)
    anchor = anchor or ("jpeg" if "jpeg" in names else names[0])
    if anchor not in pairs:
        raise ValueError(f"anchor {anchor!r} is not among the codecs")
    doc = {"dataset": str(dataset), "images": [i.name for i in images], "bd_method": METHOD,
           "timing": f"encode/decode seconds per image, {threads} torch thread(s) per worker, {workers} worker(s), "
                     f"{cpu_name()}",
           "codecs": curves, "bd": pairs, "anchor": anchor}

    # matched points: --target-bpp / --target-psnr, and the report's crops
    targets = []
    if target_bpp is not None or report_path:
        targets.append(("bpp", float(target_bpp if target_bpp is not None else 0.3), 0.02))
    if target_psnr is not None:
        targets.append(("psnr_rgb", float(target_psnr), 0.05))
    matched = _match(names, images, cache, targets, images[:report_images] if report_path else [], report_path,
                     f"tilecodec bench: {dataset}", workers, threads, avif_speed)
    doc["matched"] = matched

    doc = _json_safe(doc)
    out.write_text(json.dumps(doc, indent=1) + "\n")
    curve_dir = out.parent / f"{out.stem}-curves"
    curve_dir.mkdir(exist_ok=True)
    for c in curves:
        if not c.get("reference"):
            (curve_dir / f"{c['name']}.json").write_text(json.dumps(_json_safe(c), indent=1) + "\n")
    table = markdown_table(pairs, anchor)
    out.with_suffix(".md").write_text(table)
    log(table)
    for key, summary in matched.items():
        log(f"matched {key}: " + "; ".join(f"{n} {s['bpp']:.3f} bpp {s['psnr_rgb']:.2f} dB" for n, s in summary.items()))
    if plot_path:
        for p in plot(curves, Path(plot_path), f"{len(images)} images of {Path(dataset).name}"):
            log(f"wrote {p}")
    return doc
