#!/usr/bin/env bats
# prep.bats - maas-prep as a user runs it: real data in, datasets out,
# checked with an independent numpy reader; bad input refused cleanly.

load helper

ds() { "$PY" "$TOP/test/tools/dataset.py" "$@"; }

# ---- real data sets ----

@test "iris.json: a stratified 80/10/10 dataset numpy loads" {
	# iris has one exact duplicate row (dropped): 149 rows, 119 + 15 + 15
	need_vega; need_numpy
	run -0 maas-prep --target species "$VEGA/iris.json" -o iris.safetensors
	[[ $output == *"wrote 'iris.safetensors'"* ]]
	run -0 ds shapes iris.safetensors
	[[ $output == *"train.x f4 119x4"* ]]
	[[ $output == *"train.y i8 119"* ]]
	[[ $output == *"val.x f4 15x4"* ]]
	[[ $output == *"test.x f4 15x4"* ]]
	run -0 ds check iris.safetensors
	run -0 ds meta iris.safetensors format
	[ "$output" = "maas-dataset/1" ]
	run -0 ds meta iris.safetensors task
	[ "$output" = "classification" ]
	run -0 ds meta iris.safetensors source_sha256
	[ "$output" = "$(sha256sum "$VEGA/iris.json" | cut -d' ' -f1)" ]
	# standard scaling fitted on train: train features have mean 0, std 1
	run -0 ds stat iris.safetensors train.x
	read -r mean std _ <<<"$output"
	"$PY" -c "assert abs($mean) < 1e-5 and abs($std - 1) < 1e-3, ($mean, $std)"
}

@test "iris: --apply of the saved spec reproduces every split bit for bit" {
	need_vega; need_numpy
	maas-prep -q --target species "$VEGA/iris.json" -o fit.safetensors --save-spec prep.json
	[ -s prep.json ]
	maas-prep -q --apply prep.json "$VEGA/iris.json" -o applied.safetensors
	run -0 ds same-as-apply fit.safetensors applied.safetensors
	[ "$output" = "identical: 149 rows" ]
	# the dataset itself holds the spec too
	maas-prep -q --apply fit.safetensors "$VEGA/iris.json" -o applied2.safetensors
	run -0 ds equal applied.safetensors applied2.safetensors
}

@test "cars, seattle-weather (rows and windows), Fashion-MNIST: --apply reproduces every split" {
	need_vega; need_fmnist; need_numpy
	maas-prep -q -t Miles_per_Gallon "$VEGA/cars.json" -o cars.safetensors
	maas-prep -q --apply cars.safetensors "$VEGA/cars.json" -o cars-applied.safetensors
	run -0 ds same-as-apply cars.safetensors cars-applied.safetensors
	[ "$output" = "identical: 398 rows" ]
	W=$TOP/examples/data/seattle-weather.csv
	maas-prep -q -t weather "$W" -o w.safetensors
	maas-prep -q --apply w.safetensors "$W" -o w-applied.safetensors
	run -0 ds same-as-apply w.safetensors w-applied.safetensors
	[ "$output" = "identical: 1461 rows" ]
	# windows: the file is in date order, so each split's windows are among the
	# applied ones (stride 1: a split starting elsewhere would shift the phase)
	maas-prep -q -t temp_max --time-column date --window 7 --horizon 2 "$W" -o win.safetensors
	maas-prep -q --apply win.safetensors "$W" -o win-applied.safetensors
	run -0 ds same-as-apply win.safetensors win-applied.safetensors
	# new data out of order: the windows still follow the spec's time column
	{ head -n 1 "$W"; tail -n +2 "$W" | sort -t, -k3,3 -k1,1r; } > shuffled.csv
	maas-prep -q --apply win.safetensors shuffled.csv -o win-shuffled.safetensors
	run -0 "$PY" -c "
import sys; sys.path.insert(0, '$TOP/test/tools'); import dataset, numpy as np
a, _ = dataset.load('win-applied.safetensors'); b, _ = dataset.load('win-shuffled.safetensors')
assert np.array_equal(a['data.x'], b['data.x']) and np.array_equal(a['data.y'], b['data.y'])"
	F=$FMNIST
	maas-prep -q -t label "$F/t10k-images-idx3-ubyte.gz" "$F/t10k-labels-idx1-ubyte.gz" -o fm.safetensors
	maas-prep -q --apply fm.safetensors "$F/t10k-images-idx3-ubyte.gz" "$F/t10k-labels-idx1-ubyte.gz" -o fm-applied.safetensors
	run -0 ds same-as-apply fm.safetensors fm-applied.safetensors
}

@test "the same seed gives the same bytes; another seed another split" {
	need_vega
	mkdir a b c
	(cd a && maas-prep -q -t species -s 7 "$VEGA/iris.json" -o d.safetensors)
	(cd b && maas-prep -q -t species -s 7 "$VEGA/iris.json" -o d.safetensors)
	(cd c && maas-prep -q -t species -s 8 "$VEGA/iris.json" -o d.safetensors)
	cmp a/d.safetensors b/d.safetensors
	run ! cmp -s a/d.safetensors c/d.safetensors
}

@test "cars.json: regression with missing values, text dropped, dates and categories encoded" {
	need_vega; need_numpy
	run -0 maas-prep -t Miles_per_Gallon "$VEGA/cars.json" -o cars.safetensors --report report.json
	run -0 ds check cars.safetensors
	run -0 ds meta cars.safetensors task
	[ "$output" = regression ]
	run -0 "$PY" - <<-'EOF'
		import json
		r = json.load(open("report.json"))
		assert r["rows"] == 406, r["rows"]
		cols = {c["name"]: c for c in r["column_stats"]}
		assert cols["Horsepower"]["missing"] == 6, cols["Horsepower"]
		assert cols["Miles_per_Gallon"]["missing"] == 8
		assert cols["Name"]["type"] == "text", cols["Name"]
		assert cols["Year"]["type"] == "date", cols["Year"]
		assert cols["Origin"]["type"] == "categorical"
		acts = [a["action"] for a in r["actions"]]
		assert "drop_rows" in acts and "impute" in acts, acts
		print("ok")
	EOF
	run -0 "$PY" "$TOP/test/tools/dataset.py" meta cars.safetensors prep
	run -0 "$PY" -c "
import json,sys
s = json.loads(sys.argv[1])
f = s['features']
assert 'Origin=USA' in f and 'Year_month_sin' in f, f
assert not any(x.startswith('Name') for x in f), f
" "$output"
}

@test "seattle-weather: 14-day windows for a temp_max forecast, time-ordered" {
	need_numpy
	run -0 maas-prep -t temp_max --time-column date --window 14 "$TOP/examples/data/seattle-weather.csv" -o w.safetensors
	run -0 ds shapes w.safetensors
	# 1461 days: train 1169, val 146, test 146 rows; windows = rows - 14
	[[ $output == *"train.x f4 1155x14x"* ]]
	[[ $output == *"val.x f4 132x14x"* ]]
	[[ $output == *"test.x f4 132x14x"* ]]
	[[ $output == *"train.y f4 1155"* ]]
	run -0 ds check w.safetensors
	# time order: every train target row comes before every test target row
	run -0 "$PY" - <<-EOF
		import sys; sys.path.insert(0, "$TOP/test/tools")
		import dataset
		t, _ = dataset.load("w.safetensors")
		assert t["train.row"].max() < t["val.row"].min() <= t["val.row"].max() < t["test.row"].min()
		print("ok")
	EOF
}

@test "Fashion-MNIST IDX with its official test split" {
	need_fmnist; need_numpy
	F=$FMNIST
	run -0 maas-prep -t label --split 0.9,0.1,0 \
		"$F/train-images-idx3-ubyte.gz" "$F/train-labels-idx1-ubyte.gz" \
		--test-input "$F/t10k-images-idx3-ubyte.gz" --test-input "$F/t10k-labels-idx1-ubyte.gz" \
		-o fm.safetensors
	run -0 ds shapes fm.safetensors
	[[ $output == *"test.x f4 10000x"* ]]
	[[ $output == *"test.y i8 10000"* ]]
	run -0 ds check fm.safetensors
}

# ---- pipes ----

@test "stdin to stdout through a pipe" {
	need_vega
	maas-prep -q -t species < "$VEGA/iris.json" > piped.safetensors
	run -0 ds shapes piped.safetensors
	[[ $output == *"train.x f4 119x4"* ]]
	# the spec can come through a pipe too: a fitted dataset on stdin
	maas-prep -q -t species "$VEGA/iris.json" | maas-prep -q --apply - "$VEGA/iris.json" > a1.safetensors
	maas-prep -q --apply piped.safetensors "$VEGA/iris.json" -o a2.safetensors
	run -0 ds equal a1.safetensors a2.safetensors
}

@test "CSV with quotes, embedded newlines and a semicolon delimiter" {
	printf 'id;name;score;label\n1;"a; b";1.5;x\n2;"multi\nline";2.5;y\n3;"say ""hi""";3.5;x\n4;plain;4.5;y\n' > q.csv
	run -0 maas-prep --keep-constant -t label --split 0.5,0.25,0.25 q.csv -o q.safetensors
	run -0 maas-prep --check -t label q.csv
	[[ $output == *'"rows": 4'* ]]
}

# ---- the quality gate ----

@test "--check prints the report; --fail-on exits 1 naming the rule" {
	need_vega
	run -0 maas-prep --check -t Miles_per_Gallon "$VEGA/cars.json"
	[[ $output == *'"duplicates"'* ]]
	run -1 maas-prep --check --fail-on 'missing>0.01' -t Miles_per_Gallon "$VEGA/cars.json"
	[[ $output == *"missing>0.01"* ]]
	run -0 maas-prep -q --check --fail-on 'missing>0.5' --fail-on 'rows<100' -t Miles_per_Gallon "$VEGA/cars.json"
}

@test "a failed rule writes the report and no dataset" {
	need_vega
	run -1 maas-prep --fail-on 'rows<1000' -t species "$VEGA/iris.json" -o out.safetensors --report r.json
	[ ! -e out.safetensors ]
	grep -q '"failed": true' r.json
	no_temporaries .
}

@test "a bad rule is a usage error with a suggestion" {
	run -64 maas-prep --fail-on 'missng>0.3' /dev/null
	[[ $output == *"missng"* ]]
}

# ---- bad input ----

@test "a missing file: exit 66 naming it" {
	run -66 maas-prep -t y nope.csv -o out.safetensors
	[[ $output == *"nope.csv"* ]]
	[ ! -e out.safetensors ]
}

@test "a ragged row: exit 65 naming file and line, nothing written" {
	printf 'a,b,y\n1,2,x\n3,4,y\n5,6\n7,8,x\n' > r.csv
	run -65 maas-prep -t y r.csv -o out.safetensors
	[[ $output == *"r.csv"* ]]
	[[ $output == *"line 4"* ]]
	[ ! -e out.safetensors ]
	no_temporaries .
}

@test "invalid UTF-8: exit 65 naming line and column" {
	printf 'a,b,y\n1,2,x\n3,\xff\xfe,y\n' > u.csv
	run -65 maas-prep -t y u.csv -o out.safetensors
	[[ $output == *"line 3"* ]]
	[[ $output == *"UTF-8"* ]]
	[ ! -e out.safetensors ]
}

@test "an empty file: exit 65" {
	: > empty.csv
	run -65 maas-prep -t y empty.csv -o out.safetensors
	[[ $output == *"empty.csv"* ]]
}

@test "an unknown column: exit 64 naming it" {
	need_vega
	run -64 maas-prep -t nope "$VEGA/iris.json" -o out.safetensors
	[[ $output == *"'nope'"* ]]
	run -64 maas-prep -t species --type nope=number "$VEGA/iris.json" -o out.safetensors
	[[ $output == *"'nope'"* ]]
}

@test "a non-numeric regression target: exit 65 naming file, line and value" {
	printf 'a,y\n1,2.5\n2,3.5\n3,oops\n4,1.0\n' > t.csv
	run -65 maas-prep -t y --task regression t.csv -o out.safetensors
	[[ $output == *"line 4"* ]]
	[[ $output == *"oops"* ]]
}

@test "an all-missing target: exit 65" {
	printf 'a,y\n1,\n2,\n3,NA\n' > m.csv
	run -65 maas-prep -t y m.csv -o out.safetensors
	[ ! -e out.safetensors ]
}

@test "a truncated IDX file: exit 65 saying truncated" {
	need_fmnist
	gzip -dc "$FMNIST/t10k-labels-idx1-ubyte.gz" | head -c 5000 > labels-idx1-ubyte
	gzip -dc "$FMNIST/t10k-images-idx3-ubyte.gz" | head -c 100000 > images-idx3-ubyte
	run -65 maas-prep -t label images-idx3-ubyte labels-idx1-ubyte -o out.safetensors
	[[ $output == *"truncated"* ]]
	[ ! -e out.safetensors ]
}

@test "a corrupt gzip file: exit 65" {
	need_fmnist
	head -c 3000 "$FMNIST/t10k-labels-idx1-ubyte.gz" > cut-labels-idx1-ubyte.gz
	run -65 maas-prep -t label cut-labels-idx1-ubyte.gz -o out.safetensors
	[ ! -e out.safetensors ]
}

@test "binary output is refused on a terminal" {
	command -v script >/dev/null || skip "script(1) is not installed"
	need_vega
	run script -qec "maas-prep -t species $VEGA/iris.json" /dev/null
	[[ $output == *"terminal"* ]]
}

@test "bad option values are usage errors (exit 64)" {
	run -64 maas-prep --split 0.5,0.6,0.1 x.csv
	[[ $output == *"--split"* ]]
	run -64 maas-prep --impute sometimes x.csv
	run -64 maas-prep --window 0 x.csv
	run -64 maas-prep --format xml x.csv
	run -64 maas-prep --apply a.json --check x.csv
}

@test "SIGTERM mid-run leaves no partial file" {
	need_fmnist
	F=$FMNIST
	maas-prep -q -t label "$F/train-images-idx3-ubyte.gz" "$F/train-labels-idx1-ubyte.gz" -o big.safetensors &
	pid=$!
	sleep 1
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" || true
	no_temporaries .
	# either it finished before the signal, whole, or it left nothing
	if [ -e big.safetensors ]; then
		"$PY" "$TOP/test/tools/dataset.py" check big.safetensors
	fi
}

@test "the dataset carries raw examples that --apply turns into its test rows" {
	need_vega; need_numpy
	maas-prep -q -t Miles_per_Gallon "$VEGA/cars.json" -o cars.safetensors
	run -0 ds meta cars.safetensors examples
	"$PY" -c 'import json, sys; [print(json.dumps(r)) for r in json.loads(sys.argv[1])]' "$output" > examples.jsonl
	[ "$(wc -l < examples.jsonl)" -eq 8 ]
	run ! grep -q Miles_per_Gallon examples.jsonl
	maas-prep -q --apply cars.safetensors examples.jsonl -o ex.safetensors
	run -0 "$PY" -c "
import sys; sys.path.insert(0, '$TOP/test/tools'); import dataset, numpy as np
t, _ = dataset.load('cars.safetensors'); u, _ = dataset.load('ex.safetensors')
test = t['test.x'].view(np.uint32)
for x in u['data.x'].view(np.uint32):
    assert (test == x).all(axis=1).any(), 'an example is not a test row'
print(len(u['data.x']))"
	[ "$output" = 8 ]
}
