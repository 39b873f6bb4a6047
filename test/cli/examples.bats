#!/usr/bin/env bats
# examples.bats - the EXAMPLES of every man page run, in order, in one
# scratch directory per page, and exit as the page says.  A page whose
# examples need a tool that does not exist yet (a bundle needs maas-train
# to make one) waits for it: the test says which and runs once it exists.

load helper

@test "the EXAMPLES of every man page run as written" {
	# page -> the tool that makes what its examples start from
	declare -A NEEDS=()
	need_vega; need_fmnist; need_numpy
	ran=0 waiting=()
	for page in "$TOP"/man/man*/*.[1-9]; do
		name=${page##*/}
		if [ -n "${NEEDS[$name]-}" ] && [ ! -x "$MAAS_BIN/${NEEDS[$name]}" ]; then
			waiting+=("$name (needs ${NEEDS[$name]})")
			continue
		fi
		mkdir -p "$SCRATCH/$name"
		cd "$SCRATCH/$name"
		while IFS=$'\t' read -r -d '' want cmd; do
			run bash -c "set -o pipefail; $cmd"
			if [ "$status" -ne "$want" ]; then
				echo "$name: exited $status, the page says $want:"
				echo "$cmd"
				echo "$output"
				return 1
			fi
			ran=$((ran + 1))
		done < <("$PY" "$TOP/test/tools/man-examples.py" "$page")
	done
	[ "$ran" -gt 5 ]
	if [ ${#waiting[@]} -gt 0 ]; then echo "# not yet run: ${waiting[*]}" >&3; fi
}

@test "make demo's script runs and shows what it made" {
	need_vega
	run -0 env DEMO_OUT="$SCRATCH/demo" "$TOP/examples/demo.sh"
	[[ $output == *"wrote '"*"weather.safetensors': train ["* ]]
	[[ $output == *"gate passed"* ]]
	[[ $output == *"gate failed as it should"* ]]
	[ -s "$SCRATCH/demo/forecast.safetensors" ]
	[ -s "$SCRATCH/demo/new-days.safetensors" ]
	[[ $output == *'{"line":2,"prediction":{"label":'* ]]
	[[ $output == *'{"predictions":[{"label":'* ]]
	no_temporaries "$SCRATCH/demo"
}

@test "examples/nightly-prep.sh collects daily files and gates on quality" {
	mkdir in out
	# a year of days in four files, as an export would drop them
	src="$TOP/examples/data/seattle-weather.csv"
	head -n 1 "$src" > header
	for q in 1 2 3 4; do
		{ cat header; sed -n "$(( (q - 1) * 365 + 2 )),$(( q * 365 + 1 ))p" "$src"; } > "in/part-$q.csv"
	done
	run -0 "$TOP/examples/nightly-prep.sh" in out
	[ -s out/weather.safetensors ] && [ -s out/report.json ] && [ -s out/prep.json ]
	# a bad day: half its rows lose their wind; the job stops and keeps the old dataset
	cp out/weather.safetensors before.safetensors
	awk -F, 'BEGIN { OFS = "," } NR > 1 && NR % 2 { $5 = "" } { print }' "in/part-4.csv" > in/part-5.csv
	run -1 "$TOP/examples/nightly-prep.sh" in out
	[[ $output == *"missing>0.05"* ]]
	cmp before.safetensors out/weather.safetensors
}

# the serving examples: the output reads as a tutorial, so the test reads it
@test "examples/serve-curl.sh asks the server everything, hot-reloads a retrained model, stops with 0" {
	run -0 env SERVE_OUT="$SCRATCH/out" "$TOP/examples/serve-curl.sh" 3>&-
	[[ $output == *'listening on http://127.0.0.1:'* ]]
	[[ $output == *'{"live":true}'* && $output == *'{"ready":true}'* ]]
	[[ $output == *'"inputs":[{"name":"x","datatype":"FP32","shape":[-1,4]}]'* ]]
	# infer: the label of both rows, and only the label
	[[ $output == *'"id":"r1","outputs":[{"name":"label","datatype":"BYTES","shape":[2,1],"data":["setosa","virginica"]}]}'* ]]
	# records: JSON with its request id, then CSV; the feedback names that id
	id=$(sed -n 's/^the request id is \([0-9]*\);.*/\1/p' <<<"$output")
	[ -n "$id" ]
	[[ $output == *"X-Request-Id: $id"* ]]
	[[ $output == *'{"predictions":[{"label":"setosa",'*'},{"label":"virginica",'* ]]
	[[ $output == *"{\"id\": \"$id/0\", \"label\": \"versicolor\"}"* ]]
	[[ $output == *'{"accepted":2,"feedback_total":2,'* ]]
	[ "$(grep -c '"feedback":true' out/predictions-log.jsonl)" -eq 2 ]
	[ "$(grep -c '"feedback":true' out/labelled.jsonl)" -eq 2 ]
	[[ $output == *'maas_feedback_total{model="iris",version="1"} 2'* ]]
	[[ $output == *'maas_requests_total{model="iris",version="1",route="infer",code="200"} 1'* ]]
	# the reload: one more load, and the same flower answered by the new weights
	[[ $output == *'maas_model_loads_total{result="ok"}: 1 before, 2 now'* ]]
	before=$(sed -n '/^== 6\./,/^== 7\./p' <<<"$output" | grep -o '"probabilities":{[^}]*}' | head -n 1)
	after=$(sed -n '/^== 11\./,/^== 12\./p' <<<"$output" | grep -o '{"predictions":.*')
	[ -n "$before" ] && [[ $after == '{"predictions":[{"label":"versicolor",'* ]]
	[[ $after != *"$before"* ]]
	[[ $output == *'{"name":"iris","version":"1","state":"READY"}'* ]]
	[[ $output == *'maas-serve exited with status 0' ]]
	pid=$(sed -n 's/^\$ kill -TERM //p' <<<"$output")
	run ! kill -0 "$pid"
	no_temporaries out
}

@test "examples/serve-curl.sh leaves no server behind when a step fails" {
	# maas-serve notes its pid; the retraining (-e 40) fails
	mkdir fake
	ln -s "$MAAS_BIN/maas-prep" fake/
	cat > fake/maas-serve <<-EOF
	#!/bin/sh
	echo \$\$ > serve.pid
	exec "$MAAS_BIN/maas-serve" "\$@"
	EOF
	cat > fake/maas-train <<-EOF
	#!/bin/sh
	case " \$* " in *" -e 40 "*) echo "failing on purpose" >&2; exit 70 ;; esac
	exec "$MAAS_BIN/maas-train" "\$@"
	EOF
	chmod +x fake/maas-serve fake/maas-train
	run -70 env MAAS_BIN="$PWD/fake" SERVE_OUT="$SCRATCH/out" "$TOP/examples/serve-curl.sh" 3>&-
	[[ $output == *"failing on purpose"* ]]
	pid=$(cat out/serve.pid)
	[ -n "$pid" ]
	if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid"; echo "maas-serve $pid outlived the script"; return 1; fi
}

# nightly [VAR=value...]: examples/score-nightly.sh with a small weather
# model and out/predictions.jsonl, the VARs set after those
nightly() {
	env SCORE_BUNDLE="$PWD/weather.maas" SCORE_OUTPUT="$PWD/out/predictions.jsonl" "$@" "$TOP/examples/score-nightly.sh"
}

@test "examples/score-nightly.sh publishes one line per record, and keeps last night's file when the night is bad" {
	W=$TOP/examples/data/seattle-weather.csv
	maas-prep -q -t weather "$W" -o w.safetensors
	maas-train -q -e 2 --name weather -o weather.maas w.safetensors --log /dev/null
	# the default input: the example data, CSV by its extension
	run -0 nightly
	[[ $output == *"1461 records scored into '$PWD/out/predictions.jsonl' (0 bad)"* ]]
	[ "$(wc -l < out/predictions.jsonl)" -eq "$(($(wc -l < "$W") - 1))" ]
	run -0 "$PY" -c '
import json
rows = [json.loads(l) for l in open("out/predictions.jsonl")]
assert [r["line"] for r in rows] == list(range(2, len(rows) + 2))
assert all(r["prediction"]["label"] in ("drizzle", "fog", "rain", "snow", "sun") for r in rows)'
	cp out/predictions.jsonl last-night.jsonl

	# a bad bundle: maas-serve's status (65, malformed), last night's file kept
	cp -r weather.maas bad.maas
	echo garbage > bad.maas/MODEL.json
	run -65 nightly SCORE_BUNDLE="$PWD/bad.maas"
	[[ $output == *"'MODEL.json' is not valid JSON"* && $output == *"failed (exit 65)"* ]]
	cmp last-night.jsonl out/predictions.jsonl
	run -66 nightly SCORE_BUNDLE="$PWD/none.maas"
	run -66 nightly SCORE_INPUT="$PWD/none.csv"
	cmp last-night.jsonl out/predictions.jsonl

	# JSON lines, one record of three bad: beyond 1%, nothing is published
	"$PY" -c '
import json
print(json.dumps({"date": "2015-07-04", "precipitation": 0, "temp_max": 29.4, "temp_min": 15.6, "wind": 2.1}))
print(json.dumps({"date": "2015-07-05", "precipitation": "dry", "temp_max": 30.1, "temp_min": 16.0, "wind": 2.5}))
print(json.dumps({"date": "2015-07-06", "precipitation": 0.3, "temp_max": 24.0, "temp_min": 14.2, "wind": 3.0}))' > tonight.jsonl
	run -1 nightly SCORE_INPUT="$PWD/tonight.jsonl"
	[[ $output == *"1 of 3 records are bad (more than 0.01)"* ]]
	[[ $output == *'{"line":2,"error":'*precipitation* ]]
	cmp last-night.jsonl out/predictions.jsonl
	# an empty night is not a night to publish either
	: > empty.jsonl
	run -1 nightly SCORE_INPUT="$PWD/empty.jsonl"
	[[ $output == *"no records"* ]]
	cmp last-night.jsonl out/predictions.jsonl
	# within a raised limit the night is published, the bad line in its place
	run -0 nightly SCORE_INPUT="$PWD/tonight.jsonl" SCORE_MAX_BAD=0.5
	[[ $output == *"3 records scored"*"(1 bad)"* ]]
	[ "$(wc -l < out/predictions.jsonl)" -eq 3 ]
	[ "$(sed -n 2p out/predictions.jsonl | grep -c '^{"line":2,"error":')" -eq 1 ]
	no_temporaries out
}

@test "examples/score-nightly.sh refuses a second run while one is scoring (exit 75)" {
	maas-prep -q -t weather "$TOP/examples/data/seattle-weather.csv" -o w.safetensors
	maas-train -q -e 2 --name weather -o weather.maas w.safetensors --log /dev/null
	mkdir out
	echo 'last night' > out/predictions.jsonl
	head -n 4 "$TOP/examples/data/seattle-weather.csv" > three-days.csv
	# the first run's maas-serve waits (at most 10 s) for the file go
	mkdir fake
	cat > fake/maas-serve <<-EOF
	#!/bin/sh
	for i in \$(seq 200); do [ -e "$PWD/go" ] && break; sleep 0.05; done
	exec "$MAAS_BIN/maas-serve" "\$@"
	EOF
	chmod +x fake/maas-serve
	nightly MAAS_BIN="$PWD/fake" > first.out 2>&1 3>&- &
	first=$!
	for _ in $(seq 200); do
		flock -n out/predictions.jsonl.lock true || break
		sleep 0.05
	done
	run -75 nightly
	[[ $output == *"another run holds"* ]]
	[ "$(cat out/predictions.jsonl)" = 'last night' ]
	touch go
	status=0
	wait "$first" || status=$?
	cat first.out
	[ "$status" -eq 0 ]
	[ "$(wc -l < out/predictions.jsonl)" -eq 1461 ]
	no_temporaries out
	# once it is done, the next run goes ahead
	run -0 nightly SCORE_INPUT="$PWD/three-days.csv"
	[ "$(wc -l < out/predictions.jsonl)" -eq 3 ]
}

# the training examples, shortened; they must run as written and leave
# what they promise
@test "examples/fashion-mnist-mlp.sh trains an MLP on Fashion-MNIST" {
	need_fmnist; need_numpy
	run -0 "$TOP/examples/fashion-mnist-mlp.sh" out 2
	[ "$(wc -l < out/fashion-epochs.jsonl)" -eq 2 ]
	run -0 "$PY" -c "
import json
m = json.load(open('out/fashion.maas/MODEL.json'))
acc = m['metrics']['test']['accuracy']
assert acc > 0.8, acc
print(acc)"
}

@test "examples/forecast-gru.sh trains a GRU forecaster" {
	run -0 "$TOP/examples/forecast-gru.sh" out 3
	[ -s out/forecast.maas/weights.safetensors ]
	grep -q '"val_rmse"' out/forecast-epochs.jsonl
}

@test "examples/fine-tune.sh fine-tunes with a new output layer and names its parent" {
	need_numpy
	run -0 "$TOP/examples/fine-tune.sh" out 3
	run -0 "$PY" -c "
import json
m = json.load(open('out/wet.maas/MODEL.json'))
assert m['lineage']['parents'], m['lineage']
print(m['outputs'])"
	[[ $output == *no* && $output == *yes* ]]
}
