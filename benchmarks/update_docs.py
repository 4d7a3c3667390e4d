"""Copy the committed benchmark tables into docs/results.md (and the headline table into
README.md) between their markers.

    python benchmarks/update_docs.py
"""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
TABLES = {"codec_eval": RESULTS / "codec_eval.md",
          "codec_eval_fast": RESULTS / "codec_eval-msh-mse-fast.md",
          "bench": RESULTS / "bench.md",
          "bd_targets": RESULTS / "bd_targets.md",
          "bench_refine": RESULTS / "bench-refine.md",
          "bd_targets_refine": RESULTS / "bd_targets-refine.md",
          "speed": RESULTS / "speed.md",
          "large_images": RESULTS / "large_images.md",
          "exact_entropy": RESULTS / "exact_entropy.md"}
DOCUMENTS = (ROOT / "docs" / "results.md", ROOT / "docs" / "format.md", ROOT / "README.md")


def main() -> None:
    for doc in DOCUMENTS:
        text = doc.read_text()
        for name, path in TABLES.items():
            block = f"<!-- {name}:start -->\n{path.read_text().strip()}\n<!-- {name}:end -->"
            text = re.sub(rf"<!-- {name}:start -->.*?<!-- {name}:end -->", lambda _: block, text, flags=re.S)
        doc.write_text(text)


if __name__ == "__main__":
    main()
