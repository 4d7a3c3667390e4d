#!/usr/bin/env bash
# Time of --bpp on a 20.6 MP photo: an unreachable target and a reachable one.
# Writes benchmarks/results/bpp_search.md. Run with nothing else on the cores.
set -u
F=../shared/data/large/edgar-castrejon-1CsaVdwfIew-unsplash.jpg
OUT=benchmarks/results/bpp_search.md
CPU=$(python -c "from tilecodec.numerics import cpu_name; print(cpu_name())")
{
  echo "\`bash benchmarks/bpp_search.sh\` on $CPU, 2 threads, default model and layout, 3709x5563 photo."
  echo
  echo "| target | result | wall s | peak RSS MB |"
  echo "|---|---|---|---|"
  for bpp in 5 0.1; do
    /usr/bin/time -f "%e %M" -o /tmp/bpp_time tilecodec compress "$F" -o /tmp/bpp_search.tlc --bpp $bpp --force \
      > /tmp/bpp_out 2>&1
    read -r secs kb < /tmp/bpp_time
    echo "| $bpp | $(tail -1 /tmp/bpp_out | sed 's/|/\\|/g') | $secs | $((kb / 1024)) |"
  done
} > "$OUT"
cat "$OUT"
