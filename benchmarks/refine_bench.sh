#!/usr/bin/env bash
# Latent refinement (tilecodec.refine, 30 steps) against the plain encoder and the classical
# codecs, on 10 of the 25 eval photos (every 5th from the 2nd and every 5th from the 4th:
# wiki-003, -007, -013, -017, -023, -027, -033, -037, -043, -047; none of them was used to
# choose the refinement's settings, wiki-015 and -029). Refinement costs about 30 synthesis forward-backward passes
# per image and rate, too slow for all 25 photos here.
# Writes benchmarks/results/bench-refine.{json,md} (BD-rates against the plain encoder) and
# bd_targets-refine.md (against each classical codec).
set -euo pipefail
cd "$(dirname "$0")/.."
subset=$(mktemp -d)
trap 'rm -rf "$subset"' EXIT
for i in 2 4 7 9 12 14 17 19 22 24; do
  ln -s "$(realpath "$(ls ../shared/data/eval/*.png | sed -n "${i}p")")" "$subset/"
done
tilecodec bench "$subset" --out benchmarks/results/bench-refine.json \
  --codecs tilecodec-ckbd-mse tilecodec-ckbd-mse+r30 jpeg jpeg2000 webp avif --anchor tilecodec-ckbd-mse \
  --workers 2 --threads 1 "$@"
python benchmarks/bd_targets.py --bench bench-refine.json --out bd_targets-refine.md
