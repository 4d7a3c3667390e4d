#!/usr/bin/env bash
# Every codec on the 25 eval photos: curves, BD-rates, RD plot and visual report.
# Writes benchmarks/results/bench.{json,md}, bench-curves/, rd.{png,svg}, report.html.
# Re-runs reuse benchmarks/results/.bench.cache.jsonl and only compute new points.
set -euo pipefail
cd "$(dirname "$0")/.."
tilecodec bench ../shared/data/eval --out benchmarks/results/bench.json \
  --plot benchmarks/results/rd.png --report benchmarks/results/report.html --target-bpp 0.3 \
  --workers 2 "$@"
python benchmarks/update_readme.py
