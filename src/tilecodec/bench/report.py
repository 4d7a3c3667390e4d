"""Turn measured points into curves (CompressAI's JSON schema), BD-rate tables, RD plots
and a self-contained HTML page of matched-bpp crops."""

import base64
import html
import io
import json
import math
from collections import defaultdict
from pathlib import Path

import numpy as np
from PIL import Image

from .bdrate import METHOD, bd_quality, bd_rate

# CompressAI's published-results keys, plus a few of ours
KEYS = {"bpp": "bpp", "psnr-rgb": "psnr_rgb", "psnr-y": "psnr_y", "ms-ssim-rgb": "ms_ssim",
        "ms-ssim-rgb-db": "ms_ssim_db", "encoding_time": "encoding_time", "decoding_time": "decoding_time"}


def _clean(v):
    return None if v is None or (isinstance(v, float) and not math.isfinite(v)) else v


def curve(name: str, description: str, points: list[dict]) -> dict:
    """Mean over images at each setting -> {"name", "description", "results": {key: [...]}},
    sorted by bpp (CompressAI's schema; extra keys: psnr-y, ms-ssim-rgb-db, setting, images)."""
    by_setting = defaultdict(list)
    for p in points:
        by_setting[p["setting"]].append(p)
    rows = []
    for setting, ps in by_setting.items():
        row = {k: float(np.nanmean([p[v] for p in ps])) if any(p[v] == p[v] for p in ps) else float("nan")
               for k, v in KEYS.items()}
        row["setting"] = setting
        rows.append(row)
    rows.sort(key=lambda r: r["bpp"])
    results = {k: [_clean(r[k]) for r in rows] for k in [*KEYS, "setting"]}
    return {"name": name, "description": description, "images": len({p["image"] for p in points}),
            "results": results}


def load_reference(path) -> dict:
    """A CompressAI-schema JSON file (name, description, results with bpp and psnr-rgb)."""
    try:
        data = json.loads(Path(path).read_text())
        results = data["results"]
        n = len(results["bpp"])
        if n < 2 or len(results["psnr-rgb"]) != n:
            raise ValueError("needs at least two bpp / psnr-rgb points of equal count")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: not a results file in CompressAI's schema ({exc})") from None
    data.setdefault("name", Path(path).stem)
    data.setdefault("description", "reference")
    data["reference"] = True
    return data


def _series(c: dict, key: str):
    r = c["results"]
    if key not in r or len(r[key]) != len(r["bpp"]):
        return None
    pairs = [(b, q) for b, q in zip(r["bpp"], r[key]) if b is not None and q is not None]
    return ([b for b, _ in pairs], [q for _, q in pairs]) if len(pairs) >= 2 else None


def _ms_ssim_db(c: dict):
    s = _series(c, "ms-ssim-rgb-db")
    if s is None and (s := _series(c, "ms-ssim-rgb")) is not None:
        s = (s[0], [-10 * math.log10(max(1e-12, 1 - v)) for v in s[1]])
    return s


def bd_pairs(curves: list[dict]) -> dict:
    """Every ordered pair: {anchor: {test: {bd_rate_psnr, bd_psnr_db, bd_rate_msssim, bd_msssim_db}}}."""
    out = {}
    for a in curves:
        out[a["name"]] = {}
        for t in curves:
            if t is a:
                continue
            entry = {}
            for label, getter in (("psnr", lambda c: _series(c, "psnr-rgb")), ("msssim", _ms_ssim_db)):
                sa, st = getter(a), getter(t)
                if sa and st:
                    entry[f"bd_rate_{label}"] = bd_rate(sa[0], sa[1], st[0], st[1])
                    entry[f"bd_{label}_db"] = bd_quality(sa[0], sa[1], st[0], st[1])
                else:
                    entry[f"bd_rate_{label}"] = entry[f"bd_{label}_db"] = None
            out[a["name"]][t["name"]] = entry
    return out


def _fmt(v, unit):
    return "no overlap" if v is None else f"{v:+.2f}{unit}"


def markdown_table(pairs: dict, anchor: str) -> str:
    """BD-rates of every codec against ``anchor`` as a markdown table."""
    lines = [f"BD-rate against `{anchor}` ({METHOD}; negative = fewer bits for the same quality).", "",
             "| codec | BD-rate PSNR-RGB | BD-PSNR | BD-rate MS-SSIM (dB) | BD-MS-SSIM |", "|---|---|---|---|---|"]
    for name, e in pairs[anchor].items():
        lines.append(f"| {name} | {_fmt(e['bd_rate_psnr'], '%')} | {_fmt(e['bd_psnr_db'], ' dB')} | "
                     f"{_fmt(e['bd_rate_msssim'], '%')} | {_fmt(e['bd_msssim_db'], ' dB')} |")
    return "\n".join(lines) + "\n"


def plot(curves: list[dict], path: Path, title: str) -> list[Path]:
    """PSNR-RGB and MS-SSIM (dB) against bpp; writes PNG and SVG next to each other."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(13, 5.2))
    for c in curves:
        style = "--" if c.get("reference") else "-"
        for ax, series in ((axes[0], _series(c, "psnr-rgb")), (axes[1], _ms_ssim_db(c))):
            if series:
                ax.plot(series[0], series[1], style, marker="o", markersize=3, label=c["name"])
    for ax, label in ((axes[0], "PSNR-RGB (dB)"), (axes[1], "MS-SSIM (dB)")):
        ax.set_xlabel("bits per pixel")
        ax.set_ylabel(label)
        ax.set_xlim(0, 2.0)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    written = []
    for suffix in (".png", ".svg"):
        out = path.with_suffix(suffix)
        fig.savefig(out, dpi=110)
        written.append(out)
    plt.close(fig)
    return written


def detail_crop(image: np.ndarray, size: int = 192) -> tuple[int, int, int, int]:
    """(x, y, w, h) of the ``size``-pixel square with the most gradient energy (deterministic)."""
    h, w = image.shape[:2]
    s = min(size, h, w)
    g = image.astype(np.float32).mean(axis=2)
    energy = np.abs(np.diff(g, axis=0))[:, :-1] + np.abs(np.diff(g, axis=1))[:-1]
    step = max(1, s // 4)
    best, box = -1.0, (0, 0, s, s)
    for y in range(0, max(1, h - s + 1), step):
        for x in range(0, max(1, w - s + 1), step):
            e = float(energy[y: y + s - 1, x: x + s - 1].sum())
            if e > best:
                best, box = e, (x, y, s, s)
    return box


def png_data_uri(pixels: np.ndarray) -> str:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def html_report(matches: dict, originals: dict, target_bpp: float, title: str) -> str:
    """One self-contained page: per image, the original crop and every codec's crop at
    ``target_bpp`` (matched by bisection), with bpp, PSNR and MS-SSIM under each."""
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title><style>"
             "body{font-family:sans-serif;margin:1.5em;background:#fafafa}figure{display:inline-block;margin:6px;"
             "text-align:center;font-size:12px}img{width:288px;height:288px;image-rendering:pixelated;"
             "border:1px solid #ccc}h2{margin-top:1.5em;font-size:16px}</style></head><body>",
             f"<h1>{html.escape(title)}</h1><p>Same crop of every image, each codec bisected to about "
             f"{target_bpp:g} bpp on the whole image. Numbers are for the whole image.</p>"]
    for image, (uri, box) in originals.items():
        parts.append(f"<h2>{html.escape(image)} (crop x={box[0]} y={box[1]} {box[2]}x{box[3]})</h2>")
        parts.append(f"<figure><img src='{uri}'><figcaption><b>original</b></figcaption></figure>")
        for codec, m in sorted(matches.get(image, {}).items()):
            p = m["point"]
            ms = "n/a" if p["ms_ssim"] != p["ms_ssim"] else f"{p['ms_ssim']:.4f}"
            parts.append(f"<figure><img src='{m['crop']}'><figcaption><b>{html.escape(codec)}</b><br>"
                         f"{p['bpp']:.3f} bpp, {p['psnr_rgb']:.2f} dB, MS-SSIM {ms}</figcaption></figure>")
    parts.append("</body></html>")
    return "\n".join(parts)
