#!/usr/bin/env bash
# examples/forecast-gru.sh - tomorrow's maximum temperature in Seattle from
# the last 14 days, with a GRU.
#
#   forecast-gru.sh OUT_DIR [EPOCHS]      (EPOCHS default 30)
#
# Windows never cross the time-ordered split: the model is judged on the
# last tenth of the days, which it never saw.
set -eu
out=${1:?usage: forecast-gru.sh OUT_DIR [EPOCHS]}
epochs=${2:-30}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"

maas-prep -q --target temp_max --time-column date --window 14 \
	"$here/data/seattle-weather.csv" -o "$out/forecast.safetensors"
maas-train -a gru:32 -e "$epochs" --schedule cosine --name forecast \
	-o "$out/forecast.maas" --log "$out/forecast-epochs.jsonl" "$out/forecast.safetensors"
