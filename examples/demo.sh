#!/usr/bin/env bash
# examples/demo.sh - the main job end to end on the example data (make demo).
#
# Today the toolchain is maas-prep, maas-train and maas-serve: the demo
# prepares the example data four ways, trains a classifier and a
# forecaster, scores records in batch and through the HTTP server, and
# shows what came out.  Each later tool extends it.
#
# Environment: MAAS_BIN (directory of the binaries; default bin/),
# DEMO_OUT (where the outputs go; default examples/out).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
bin=${MAAS_BIN:-$here/../bin}
data=$here/data
out=${DEMO_OUT:-$here/out}
mkdir -p "$out"
PATH=$bin:$PATH

step() { printf '\n== %s\n' "$*"; }

step "1. prepare: daily Seattle weather -> a dataset to classify the weather"
echo "\$ maas-prep -v --target weather seattle-weather.csv -o weather.safetensors --report weather-report.json"
maas-prep -v --target weather "$data/seattle-weather.csv" \
	-o "$out/weather.safetensors" --report "$out/weather-report.json"

step "2. sequences: 14 days in, tomorrow's temp_max out (time-ordered split)"
echo "\$ maas-prep --target temp_max --time-column date --window 14 seattle-weather.csv -o forecast.safetensors"
maas-prep --target temp_max --time-column date --window 14 \
	"$data/seattle-weather.csv" -o "$out/forecast.safetensors"

step "3. JSON input, and a quality gate for cron or CI (exit 1 when a rule holds)"
echo "\$ maas-prep --check --fail-on 'missing>0.3' --fail-on 'duplicates>0.05' --target species iris.json"
if maas-prep -q --check --fail-on 'missing>0.3' --fail-on 'duplicates>0.05' \
	--target species "$data/iris.json" --report "$out/iris-report.json"; then
	echo "gate passed: no column over 30% missing, under 5% duplicate rows"
fi
echo "\$ maas-prep --check --fail-on 'rows<1000' --target species iris.json"
if ! maas-prep --check --fail-on 'rows<1000' --target species "$data/iris.json" >/dev/null; then
	echo "gate failed as it should: iris has fewer than 1000 rows (exit 1)"
fi

step "4. new data, transformed exactly as the training data was"
head -n 31 "$data/seattle-weather.csv" >"$out/new-days.csv"
echo "\$ maas-prep --apply weather.safetensors new-days.csv -o new-days.safetensors"
maas-prep --apply "$out/weather.safetensors" "$out/new-days.csv" -o "$out/new-days.safetensors"

step "5. train: an MLP that tells the weather from the day's measurements"
echo "\$ maas-train -e 30 --name weather weather.safetensors -o weather.maas"
maas-train -e 30 --name weather "$out/weather.safetensors" -o "$out/weather.maas" --log "$out/weather-epochs.jsonl"
tail -n 2 "$out/weather-epochs.jsonl"

step "6. train: a GRU that forecasts tomorrow's temp_max from 14 days"
echo "\$ maas-train -a gru:32 -e 10 forecast.safetensors -o forecast.maas"
maas-train -a gru:32 -e 10 "$out/forecast.safetensors" -o "$out/forecast.maas" --log "$out/forecast-epochs.jsonl"
tail -n 1 "$out/forecast-epochs.jsonl"

step "7. what a bundle holds (weather.maas)"
ls -l "$out/weather.maas"
echo "first self-test example (raw input, and what the model answers):"
head -n 1 "$out/weather.maas/examples.jsonl"

step "8. batch scoring for pipelines and cron: raw records in, predictions out"
head -n 4 "$data/seattle-weather.csv" | cut -d, -f1-5 >"$out/three-days.csv"
echo "\$ maas-serve --stdin weather.maas --format csv < three-days.csv"
maas-serve --stdin "$out/weather.maas" --format csv <"$out/three-days.csv"

step "9. the prediction server: start, query over HTTP, stop"
maas-serve -q --port 0 "$out/weather.maas" >"$out/server.addr" &
server=$!
for _ in $(seq 50); do [ -s "$out/server.addr" ] && break; sleep 0.1; done
url=$(sed -n 's/^listening on //p' "$out/server.addr")
echo "\$ curl $url/v1/models/weather:predict -d '{\"instances\": [...]}'"
curl -s "$url/v1/models/weather:predict" \
	-d '{"instances": [{"date": "2015-07-04", "precipitation": 0, "temp_max": 29.4, "temp_min": 15.6, "wind": 2.1}]}'
echo
kill -TERM "$server"
wait "$server"

step "what came out (in ${out#"$PWD"/})"
ls -l "$out"
