"""Copy the committed benchmark tables into README.md between their markers.

    python benchmarks/update_readme.py
"""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TABLES = {"codec_eval": ROOT / "benchmarks" / "results" / "codec_eval.md",
          "codec_eval_fast": ROOT / "benchmarks" / "results" / "codec_eval-msh-mse-fast.md",
          "bench": ROOT / "benchmarks" / "results" / "bench.md",
          "bd_targets": ROOT / "benchmarks" / "results" / "bd_targets.md",
          "bench_refine": ROOT / "benchmarks" / "results" / "bench-refine.md",
          "bd_targets_refine": ROOT / "benchmarks" / "results" / "bd_targets-refine.md",
          "speed": ROOT / "benchmarks" / "results" / "speed.md",
          "large_images": ROOT / "benchmarks" / "results" / "large_images.md",
          "exact_entropy": ROOT / "benchmarks" / "results" / "exact_entropy.md"}

readme = (ROOT / "README.md").read_text()
for name, path in TABLES.items():
    block = f"<!-- {name}:start -->\n{path.read_text().strip()}\n<!-- {name}:end -->"
    readme, n = re.subn(rf"<!-- {name}:start -->.*?<!-- {name}:end -->", lambda _: block, readme, flags=re.S)
    if n != 1:
        raise SystemExit(f"README.md has no {name} markers")
(ROOT / "README.md").write_text(readme)
