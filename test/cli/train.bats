#!/usr/bin/env bats
# train.bats - maas-train as a user runs it: real datasets in, bundles out,
# checked with numpy and sha256 alone; bad input refused with its exit
# code and nothing half-written; SIGTERM checkpoints and --resume finishes.

load helper

# bundle_check DIR [DATASET SPLIT]: every file matches MODEL.json's digest
# and size, nothing unlisted; the weights load with numpy in the shapes the
# manifest gives; with a dataset, a numpy forward pass of the MLP on SPLIT
# gives the accuracy (or RMSE) MODEL.json reports.
bundle_check() {
	"$PY" - "$@" <<-'EOF'
	import hashlib, json, os, sys
	import numpy as np
	sys.path.insert(0, os.environ["TOP"] + "/test/tools")
	import dataset
	d = sys.argv[1]
	m = json.load(open(os.path.join(d, "MODEL.json")))
	assert m["format"] == "maas-bundle/1", m["format"]
	listed = set(m["files"])
	found = set()
	for root, _, files in os.walk(d):
	    for f in files:
	        found.add(os.path.relpath(os.path.join(root, f), d))
	found.discard("MODEL.json")
	assert found == listed, (found, listed)
	for name, f in m["files"].items():
	    b = open(os.path.join(d, name), "rb").read()
	    assert hashlib.sha256(b).hexdigest() == f["sha256"], name + " does not match its digest"
	    assert len(b) == f["size"], name
	w, _ = dataset.load(os.path.join(d, "weights.safetensors"))
	shapes = {k: list(v.shape) for k, v in w.items()}
	assert shapes == m["architecture"]["tensors"], (shapes, m["architecture"]["tensors"])
	assert all(v.dtype == np.float32 for v in w.values())
	assert sum(v.size for v in w.values()) == m["architecture"]["parameters"]
	if len(sys.argv) > 2:
	    t, _ = dataset.load(sys.argv[2])
	    split = sys.argv[3]
	    x = t[split + ".x"].astype(np.float64)
	    for layer in m["architecture"]["layers"]:
	        if layer["type"] == "linear":
	            x = x @ w[layer["tensors"]["weight"]].T + w[layer["tensors"]["bias"]]
	        elif layer["type"] == "relu":
	            x = np.maximum(x, 0)
	        else:
	            assert layer["type"] == "dropout", layer["type"]
	    y = t[split + ".y"]
	    got = m["metrics"][split]
	    if m["task"] == "classification":
	        acc = float((x.argmax(1) == y).mean())
	        assert abs(acc - got["accuracy"]) < 1e-9, (acc, got)
	    else:
	        s = m["outputs"]["target_scale"]
	        rmse = float(np.sqrt(((x[:, 0] * s["std"] + s["mean"] - y) ** 2).mean()))
	        assert abs(rmse - got["rmse"]) < 1e-4 * max(1, rmse), (rmse, got)
	print("ok")
	EOF
}

# the last epoch line's value of KEY
last() {
	tail -n 1 "$1" | "$PY" -c "import json, sys; print(json.loads(sys.stdin.read())['$2'])"
}

fmnist() {
	need_fmnist
	maas-prep -q -t label "$FMNIST/t10k-images-idx3-ubyte.gz" "$FMNIST/t10k-labels-idx1-ubyte.gz" \
		-o fm.safetensors
}

# ---- real runs ----

@test "Fashion-MNIST subset: an MLP for 2 epochs reaches accuracy above 0.7" {
	need_numpy
	fmnist
	run -0 maas-train -o fm.maas -e 2 fm.safetensors
	echo "$output" > lines
	[ "$(grep -c '^{"epoch":' lines)" -eq 2 ]
	[[ $output == *"wrote 'fm.maas': 2 epochs"* ]]
	grep '^{' lines > epochs.jsonl
	"$PY" -c "assert $(last epochs.jsonl val_accuracy) > 0.7"
	run -0 bundle_check fm.maas fm.safetensors test
	run -0 bundle_check fm.maas fm.safetensors val
	run -0 "$PY" -c "
import json; m = json.load(open('fm.maas/MODEL.json'))
assert m['name'] == 'fm' and m['task'] == 'classification'
assert m['architecture']['kind'] == 'mlp' and m['architecture']['arch'] == 'dense:256,relu,dense:128,relu'
assert m['inputs']['tensor']['shape'] == [-1, 784]
assert m['outputs']['labels'] == [str(i) for i in range(10)], m['outputs']['labels']
assert len(m['metrics']['test']['confusion']) == 10
h = m['hyperparameters']; assert h['optimizer'] == 'adam' and h['learning_rate'] == 0.001 and h['batch_size'] == 128
l = m['lineage']; assert l['dataset']['sha256'] == '$(sha256sum fm.safetensors | cut -d' ' -f1)'
assert l['tool'].startswith('maas-train ') and l['command'][-1] == 'fm.safetensors'
assert m['examples']['input'] == 'records' and m['examples']['count'] == 8
"
	# prep.json is the dataset's spec, verbatim
	run -0 "$PY" "$TOP/test/tools/dataset.py" meta fm.safetensors prep
	[ "$output" = "$(cat fm.maas/prep.json)" ]
	cmp <(grep '^{' lines) fm.maas/metrics.jsonl
	[ "$(wc -l < fm.maas/examples.jsonl)" -eq 8 ]
	grep -q '"probabilities":{"0":' fm.maas/examples.jsonl
	grep -q '^# fm' fm.maas/card.md
	no_temporaries .
}

@test "seattle-weather windows: a GRU for 2 epochs with finite metrics" {
	need_numpy
	maas-prep -q -t temp_max --time-column date --window 14 "$TOP/examples/data/seattle-weather.csv" -o w.safetensors
	run -0 maas-train -v -o w.maas -e 2 w.safetensors
	[[ $output == *"model: gru:64"* ]]
	[[ $output == *"1 thread"* ]]
	run -0 bundle_check w.maas
	run -0 "$PY" -c "
import json, math
m = json.load(open('w.maas/MODEL.json'))
assert m['task'] == 'regression' and m['architecture']['kind'] == 'gru'
assert m['inputs']['tensor']['shape'] == [-1, 14, 9] and m['inputs']['window']['length'] == 14
g = m['architecture']['layers'][0]; assert g['type'] == 'gru' and g['hidden'] == 64
assert g['tensors']['weight_ih_l0'] == '0.weight_ih_l0'
assert m['architecture']['tensors']['0.weight_ih_l0'] == [192, 9]
assert m['hyperparameters']['clip_norm'] == 1.0 and m['hyperparameters']['threads'] == 1
for s in ('train', 'val', 'test'):
    for k in ('loss', 'rmse', 'mae', 'r2'):
        assert math.isfinite(m['metrics'][s][k]), (s, k)
for line in open('w.maas/examples.jsonl'):
    e = json.loads(line); assert len(e['input']) == 14 and math.isfinite(e['output']['value'])
"
}

@test "cars.json regression: learns, and the bundle's RMSE is numpy's" {
	need_vega; need_numpy
	maas-prep -q -t Miles_per_Gallon "$VEGA/cars.json" -o cars.safetensors
	run -0 maas-train -q -o cars.maas -e 60 --lr 0.003 cars.safetensors
	run -0 bundle_check cars.maas cars.safetensors test
	run -0 "$PY" -c "
import json; m = json.load(open('cars.maas/MODEL.json'))
assert m['metrics']['test']['r2'] > 0.7, m['metrics']
assert m['outputs']['target'] == 'Miles_per_Gallon'
"
}

@test "-o - streams a tar; epoch lines go to --log, never into the tar" {
	need_vega
	maas-prep -q -t species "$VEGA/iris.json" -o iris.safetensors
	maas-train -q -o - --log log.jsonl -e 3 iris.safetensors > iris.tar
	[ "$(wc -l < log.jsonl)" -eq 3 ]
	run -0 tar tf iris.tar
	[ "${lines[0]}" = "MODEL.json" ]
	[[ $output == *weights.safetensors* ]]
	mkdir x && tar -C x -xf iris.tar
	run -0 bundle_check x
	# the same bundle as NAME.tar
	maas-train -q -o named.tar -e 3 iris.safetensors > /dev/null
	tar tf named.tar | grep -q '^card.md$'
	# without --log, nothing but the tar on stdout
	maas-train -q -o - -e 1 iris.safetensors | tar tf - > /dev/null
}

@test "examples.jsonl: the raw test records give what the model gives the dataset's rows" {
	need_vega; need_numpy
	maas-prep -q -t species "$VEGA/iris.json" -o iris.safetensors
	maas-train -q -o iris.maas -e 5 iris.safetensors > /dev/null
	run -0 "$PY" - <<-'EOF'
	import json, os, sys
	import numpy as np
	sys.path.insert(0, os.environ["TOP"] + "/test/tools")
	import dataset
	w, _ = dataset.load("iris.maas/weights.safetensors")
	t, meta = dataset.load("iris.safetensors")
	raw = json.loads(meta["examples"])
	ex = [json.loads(l) for l in open("iris.maas/examples.jsonl")]
	assert [e["input"] for e in ex] == raw
	x = t["test.x"].astype(np.float64)
	n = len(x)
	for k, e in enumerate(ex):
	    h = x[k * n // len(ex)]          # maas-prep spreads the examples over the split
	    for i in (0, 2):
	        h = np.maximum(h @ w[f"{i}.weight"].T + w[f"{i}.bias"], 0)
	    z = h @ w["4.weight"].T + w["4.bias"]
	    p = np.exp(z - z.max()); p /= p.sum()
	    got = e["output"]["probabilities"]
	    labels = json.load(open("iris.maas/MODEL.json"))["outputs"]["labels"]
	    assert list(got) == labels
	    assert np.allclose([got[l] for l in labels], p, atol=1e-5), (k, got, p)
	    assert e["output"]["label"] == labels[int(p.argmax())]
	print(len(ex))
	EOF
	[ "$output" = 8 ]
}

@test "the same seed on one thread gives the same weights" {
	need_vega
	maas-prep -q -t species "$VEGA/iris.json" -o iris.safetensors
	maas-train -q -o a.maas -e 5 -s 3 --threads 1 -a dense:32,relu,dropout:0.3 iris.safetensors > /dev/null
	maas-train -q -o b.maas -e 5 -s 3 --threads 1 -a dense:32,relu,dropout:0.3 iris.safetensors > /dev/null
	maas-train -q -o c.maas -e 5 -s 4 --threads 1 -a dense:32,relu,dropout:0.3 iris.safetensors > /dev/null
	cmp a.maas/weights.safetensors b.maas/weights.safetensors
	run ! cmp -s a.maas/weights.safetensors c.maas/weights.safetensors
}

# ---- fine-tuning ----

@test "--init and --freeze: a new output layer, the parent in the lineage, a tampered parent refused" {
	need_vega; need_numpy
	maas-prep -q -t species "$VEGA/iris.json" -o iris.safetensors
	maas-train -q -o parent.maas -e 3 -a dense:16,relu,dense:8,relu iris.safetensors > /dev/null
	# a binary task from the same features: versicolor or not
	"$PY" -c "
import json
rows = json.load(open('$VEGA/iris.json'))
for r in rows: r['species'] = str(r['species'] == 'versicolor').lower()
json.dump(rows, open('bin.json', 'w'))"
	maas-prep -q -t species bin.json -o bin.safetensors
	run -0 maas-train -v -o child.maas -e 2 --init parent.maas --freeze 2 bin.safetensors
	[[ $output == *"with a new output layer"* ]]
	[[ $output == *"(80 frozen)"* ]]
	run -0 "$PY" - <<-'EOF'
	import hashlib, json, os, sys
	sys.path.insert(0, os.environ["TOP"] + "/test/tools")
	import dataset
	m = json.load(open("child.maas/MODEL.json"))
	p = m["lineage"]["parents"][0]
	assert p["sha256"] == hashlib.sha256(open("parent.maas/MODEL.json", "rb").read()).hexdigest()
	assert p["name"] == "iris", p
	a, _ = dataset.load("parent.maas/weights.safetensors")
	b, _ = dataset.load("child.maas/weights.safetensors")
	assert (a["0.weight"] == b["0.weight"]).all(), "frozen layer moved"
	assert not (a["2.weight"] == b["2.weight"]).all(), "unfrozen layer did not train"
	assert b["4.weight"].shape == (2, 8) and a["4.weight"].shape == (3, 8)
	EOF
	# another architecture does not fit, naming the tensor
	run -78 maas-train -o x.maas -a dense:32,relu --init parent.maas iris.safetensors
	[[ $output == *"'0.weight' is [16, 4] there but [32, 4] here"* ]]
	# a parent whose card was edited is refused, as by every tool
	echo edited >> parent.maas/card.md
	run -1 bundle_check parent.maas
	run -65 maas-train -o x.maas --init parent.maas iris.safetensors
	[[ $output == *"card.md"* ]]
	[ ! -e x.maas ]
}

# ---- interruption ----

@test "SIGTERM writes a checkpoint and exits 143; --resume finishes bit for bit" {
	fmnist
	maas-train -q -o full.maas -e 4 -b 32 --threads 1 --patience 0 fm.safetensors > /dev/null
	maas-train -o part.maas -e 4 -b 32 --threads 1 --patience 0 --checkpoint part.ckpt \
		--log log.jsonl fm.safetensors 2> err & pid=$!
	for _ in $(seq 300); do [ -s log.jsonl ] && break; sleep 0.1; done
	kill -TERM "$pid"
	rc=0; wait "$pid" || rc=$?
	[ "$rc" -eq 143 ]
	grep -q "checkpoint written to 'part.ckpt'" err
	[ -s part.ckpt ]
	[ ! -e part.maas ]
	no_temporaries .
	run -0 maas-train -q -o part.maas --resume part.ckpt fm.safetensors
	cmp full.maas/weights.safetensors part.maas/weights.safetensors
	[ "$(wc -l < part.maas/metrics.jsonl)" -eq 4 ]
}

@test "SIGINT without --checkpoint writes OUTPUT.ckpt and exits 130" {
	fmnist
	maas-train -o m.maas -e 50 --log log.jsonl fm.safetensors 2> err & pid=$!
	for _ in $(seq 300); do [ -s log.jsonl ] && break; sleep 0.1; done
	kill -INT "$pid"
	rc=0; wait "$pid" || rc=$?
	[ "$rc" -eq 130 ]
	grep -q "interrupted in epoch" err
	[ -s m.maas.ckpt ]
	run -0 maas-train -q -o m.maas --resume m.maas.ckpt -e 2 fm.safetensors
	[ -f m.maas/MODEL.json ]
}

# ---- bad input ----

@test "wrong file type, missing file, no training split: clear errors, nothing written" {
	need_vega
	run -65 maas-train -o x.maas "$VEGA/iris.json"
	[[ $output == *"is not a dataset: not a safetensors file (it looks like JSON); make one with maas-prep"* ]]
	run -66 maas-train -o x.maas nothere.safetensors
	[[ $output == *"cannot open 'nothere.safetensors'"* ]]
	maas-prep -q -t species "$VEGA/iris.json" -o iris.safetensors
	maas-prep -q --apply iris.safetensors "$VEGA/iris.json" -o applied.safetensors
	run -65 maas-train -o x.maas applied.safetensors
	[[ $output == *"has no training split"* ]]
	run -65 maas-train -o x.maas - < /dev/null
	[ ! -e x.maas ]
	no_temporaries .
}

@test "NaN or Inf in the data is refused naming the tensor and the index" {
	need_vega; need_numpy
	maas-prep -q -t species "$VEGA/iris.json" -o iris.safetensors
	"$PY" - <<-'EOF'
	import json, struct
	b = bytearray(open("iris.safetensors", "rb").read())
	n, = struct.unpack("<Q", b[:8]); h = json.loads(b[8:8 + n])
	o = 8 + n + h["val.x"]["data_offsets"][0] + 4 * (2 * 4 + 3)
	b[o:o + 4] = struct.pack("<f", float("nan"))
	open("nan.safetensors", "wb").write(b)
	o = 8 + n + h["train.x"]["data_offsets"][0]
	b[o:o + 4] = struct.pack("<f", float("-inf"))
	open("inf.safetensors", "wb").write(b)
	EOF
	run -65 maas-train -o x.maas nan.safetensors
	[[ $output == *"val.x[2, 3] is nan"* ]]
	run -65 maas-train -o x.maas inf.safetensors
	[[ $output == *"train.x[0, 0] is -inf"* ]]
	[ ! -e x.maas ]
}

@test "a loss that does not fit the target, a bad architecture, bad options: usage errors" {
	need_vega
	maas-prep -q -t species "$VEGA/iris.json" -o iris.safetensors
	maas-prep -q -t Miles_per_Gallon "$VEGA/cars.json" -o cars.safetensors
	run -64 maas-train -o x.maas --loss mse iris.safetensors
	[[ $output == *"--loss mse needs a numeric target, but 'species'"* ]]
	run -64 maas-train -o x.maas --loss bce iris.safetensors
	[[ $output == *"needs two classes"* ]]
	run -64 maas-train -o x.maas --loss cross-entropy cars.safetensors
	[[ $output == *"needs classes"* ]]
	run -64 maas-train -o x.maas --metric accuracy cars.safetensors
	run -64 maas-train -o x.maas -a dense:16,relu,dense:x iris.safetensors
	[[ $output == *"'dense:x'"* ]]
	run -64 maas-train -o x.maas -a gru iris.safetensors
	run -64 maas-train iris.safetensors
	[[ $output == *"no output"* ]]
	run -64 maas-train -o x.maas --lr -1 iris.safetensors
	run -64 maas-train -o x.maas --optimizer rmsprop iris.safetensors
	run -64 maas-train -o x.maas --momentum 0.9 iris.safetensors
	run -64 maas-train -o x.maas --resume c.ckpt --lr 0.1 iris.safetensors
	[[ $output == *"drop --lr"* ]]
	run -64 maas-train -o x.maas --checkpoint-every 2 iris.safetensors
	run -64 maas-train -o x.maas --freeze 1 iris.safetensors
	run -64 maas-train -o x.maas --name 'no spaces' iris.safetensors
	run -64 maas-train -o x.tar.gz iris.safetensors
	run -64 maas-train -o - --log - iris.safetensors
	[ ! -e x.maas ]
}

@test "a diverging loss stops with a clear message and keeps the last good checkpoint" {
	need_vega
	maas-prep -q -t Miles_per_Gallon "$VEGA/cars.json" -o cars.safetensors
	run -65 maas-train -o x.maas --optimizer sgd --lr 1e30 cars.safetensors
	[[ $output == *"loss diverged at epoch 1, batch "*" (nan): try a lower --lr"* || \
	   $output == *"loss diverged at epoch "*"(inf): try a lower --lr"* ]]
	[ ! -e x.maas ]
	# with a checkpoint from a good run, a diverging resume leaves it alone
	maas-train -q -o good.maas -e 2 --checkpoint good.ckpt cars.safetensors > /dev/null
	cp good.ckpt before.ckpt
	run -65 maas-train -o x.maas --optimizer sgd --lr 1e30 --checkpoint good.ckpt cars.safetensors
	cmp good.ckpt before.ckpt
}

@test "a full disk fails with exit 74 and a clear message" {
	need_vega
	[ -w /dev/full ] || skip "no /dev/full"
	maas-prep -q -t species "$VEGA/iris.json" -o iris.safetensors
	run -74 bash -c 'maas-train -q -o - -e 1 iris.safetensors > /dev/full'
	[[ $output == *"No space left on device"* ]]
	run -74 bash -c 'maas-train -o m.maas -e 1 iris.safetensors > /dev/full'
	[[ $output == *"cannot write the epoch line"* ]]
	[ ! -e m.maas ]
	no_temporaries .
}

@test "a directory of other files is never replaced by a bundle" {
	need_vega
	maas-prep -q -t species "$VEGA/iris.json" -o iris.safetensors
	mkdir docs && echo keep > docs/notes.txt
	run -73 maas-train -o docs iris.safetensors
	[[ $output == *"not a bundle"* ]]
	[ -f docs/notes.txt ]
	# a bundle is replaced
	maas-train -q -o m.maas -e 1 iris.safetensors > /dev/null
	maas-train -q -o m.maas -e 2 iris.safetensors > /dev/null
	[ "$(wc -l < m.maas/metrics.jsonl)" -eq 2 ]
}
