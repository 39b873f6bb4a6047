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
