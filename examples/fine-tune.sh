#!/usr/bin/env bash
# examples/fine-tune.sh - transfer learning: a model trained to tell all
# five kinds of Seattle weather is fine-tuned to a new question, "will it
# rain or not", keeping its first layers frozen.
#
#   fine-tune.sh OUT_DIR [EPOCHS]      (EPOCHS default 20)
#
# The new task has two classes, so the output layer is made anew; the
# bundle's lineage names the parent it started from.
set -eu
out=${1:?usage: fine-tune.sh OUT_DIR [EPOCHS]}
epochs=${2:-20}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"

# the parent: five classes (sun, fog, rain, drizzle, snow)
maas-prep -q --target weather "$here/data/seattle-weather.csv" -o "$out/weather.safetensors"
maas-train -q -a dense:64,relu,dense:32,relu -e "$epochs" --name weather \
	-o "$out/weather.maas" --log /dev/null "$out/weather.safetensors"

# the new question: wet (rain, drizzle, snow) or dry (sun, fog)
awk -F, 'BEGIN { OFS = "," }
	NR == 1 { $6 = "wet"; print; next }
	{ $6 = ($6 == "rain" || $6 == "drizzle" || $6 == "snow") ? "yes" : "no"; print }' \
	"$here/data/seattle-weather.csv" >"$out/wet.csv"
maas-prep -q --target wet "$out/wet.csv" -o "$out/wet.safetensors"

# start from the parent, freeze its first dense layer and activation
maas-train --init "$out/weather.maas" --freeze 2 -e "$epochs" --name wet \
	-o "$out/wet.maas" --log "$out/wet-epochs.jsonl" "$out/wet.safetensors"
