#!/bin/sh
# The patch codecs below 0.1 bpp (the thesis's Figures 5.17 and 5.18): the bundled baseline,
# pre-trained-intra and embedded-intra (closed loop) codecs fine-tuned for 12 minutes each to
# eight lower rate levels (lambda 0.00003 to 0.004, against the bundled 0.0004 to 0.0483), the
# same budget for each, then a density per level fitted (3 minutes each) and exported.
#   sh experiments/vae_intra/lowrate.sh   # writes runs/lowrate/ (training) and runs/lowrate-models/
set -e
L="0.00003 0.00006 0.00012 0.00025 0.0005 0.001 0.002 0.004"
P="--lmbdas $L --batch 64 --lr 2e-4 --steps 100000 --max-minutes 12 --workers 1"
mkdir -p runs/lowrate runs/lowrate-models
tilecodec train-patch-vae ../shared/data/train --out runs/lowrate/patch-vae.safetensors --init patch-vae $P
tilecodec train-patch-vae ../shared/data/train --out runs/lowrate/patch-vae-pretrained-intra.safetensors \
  --init patch-vae-pretrained-intra $P
tilecodec train-patch-vae ../shared/data/train --out runs/lowrate/patch-vae-embedded-intra.safetensors \
  --init patch-vae-embedded-intra --closed-loop $P
python experiments/vae_intra/make_models.py runs/lowrate runs/lowrate-models 3 --lowrate
