#!/usr/bin/env bats
# code and SERVER_PID are set and read by serve-helper.bash (bats load):
# shellcheck disable=SC2154,SC2034
# serve-monitor.bats - maas-serve's prediction log (read back by maas-prep,
# reopened on SIGHUP), feedback and the live accuracy gauge, and drift
# (PSI) of served inputs against the bundle's training statistics.
# Every wait is bounded; teardown stops the server.

load helper
load serve-helper

setup_file() {
	serve_bundles iris
}

setup() {
	need_numpy
	serve_setup
}

teardown() {
	serve_teardown
}

# instances [PYTHON-EXPR]: iris.json's rows as {"instances": ...}, each row r mapped by the expression
instances() {
	"$PY" -c "
import json, sys
rows = json.load(open('$VEGA/iris.json'))
f = lambda r: ${1:-r}
json.dump({'instances': [f(dict(r)) for r in rows]}, sys.stdout)"
}

# metric NAME-AND-LABELS: its value from /metrics
metric() {
	curl -s -m 10 "$URL/metrics" | awk -v k="$1" 'index($0, k " ") == 1 { print $2 }'
}

@test "predictions are logged as JSON lines that maas-prep --apply reads back" {
	start_server -q --log-predictions pred.jsonl "$IRIS"
	instances > req.json
	req -H 'Content-Type: application/json' --data-binary @req.json "$URL/v1/models/iris:predict"
	[ "$code" = 200 ]
	[ "$(wc -l < pred.jsonl)" -eq 150 ]
	"$PY" -c '
import json
preds = json.load(open("body"))["predictions"]
rows = json.load(open("'"$VEGA"'/iris.json"))
lines = [json.loads(l) for l in open("pred.jsonl")]
ids = sorted(int(l["id"].split("/")[1]) for l in lines)
assert ids == list(range(150)), ids[:5]
for l in lines:
    i = int(l["id"].split("/")[1])
    assert l["model"] == "iris" and l["version"] == "1" and l["time"].endswith("Z"), l
    for k, v in rows[i].items():
        assert l[k] == v, (k, l[k], v)
    assert l["prediction"] == preds[i]["label"], (l, preds[i])
    assert abs(l["probability"] - preds[i]["probabilities"][preds[i]["label"]]) < 1e-6, l
    assert all(not isinstance(v, (dict, list)) for v in l.values()), l
'
	run -0 maas-prep --apply "$IRIS" -o back.safetensors pred.jsonl
	[[ $output == *"data [150,4]"* ]]
	# the same features as applying the spec to the source
	run -0 maas-prep -q --apply "$IRIS" -o direct.safetensors "$VEGA/iris.json"
	"$PY" - <<-'EOF'
		import json, struct, numpy as np
		def data(p):
		    b = open(p, "rb").read(); n = struct.unpack("<Q", b[:8])[0]; h = json.loads(b[8:8 + n])
		    t = h["data.x"]; s, e = t["data_offsets"]
		    return np.frombuffer(b[8 + n + s:8 + n + e], np.float32).reshape(t["shape"])
		a, b = data("back.safetensors"), data("direct.safetensors")
		lines = [json.loads(l) for l in open("pred.jsonl")]
		order = [int(l["id"].split("/")[1]) for l in lines]
		assert np.array_equal(a, b[order]), "features differ"
	EOF
}

@test "infer requests are logged with their features as x0, x1, ...; feedback joins them" {
	start_server -q --log-predictions pred.jsonl "$IRIS"
	body='{"inputs":[{"name":"x","shape":[2,4],"datatype":"FP32","data":[[0.5,-1.25,1,0.75],[-1,0.5,-1.5,-1.25]]}]}'
	req -D headers -d "$body" "$URL/v2/models/iris/infer"
	[ "$code" = 200 ]
	rid=$(tr -d '\r' < headers | sed -n 's/^X-Request-Id: //p')
	[ "$(wc -l < pred.jsonl)" -eq 2 ]
	"$PY" -c '
import json
out = {o["name"]: o["data"] for o in json.load(open("body"))["outputs"]}
lines = [json.loads(l) for l in open("pred.jsonl")]
lines.sort(key=lambda l: l["id"])
sent = [[0.5, -1.25, 1, 0.75], [-1, 0.5, -1.5, -1.25]]
for i, l in enumerate(lines):
    assert l["id"] == "'"$rid"'/%d" % i, l
    assert [l["x%d" % f] for f in range(4)] == sent[i], l
    assert l["prediction"] == out["label"][i], (l, out)
    assert abs(l["probability"] - out["probabilities"][3 * i + out["class"][i]]) < 1e-6, l
'
	label=$("$PY" -c 'import json; print(json.load(open("body"))["outputs"][2]["data"][0])')
	req -d "{\"id\": \"$rid/0\", \"label\": \"$label\"}" "$URL/v1/models/iris:feedback"
	[ "$code" = 200 ]
	[ "$(metric 'maas_live_accuracy{model="iris",version="1"}')" = 1 ]
	grep -q '"feedback":true' pred.jsonl
	# the log is JSON lines of scalars: maas-prep reads the rows back
	grep -v '"feedback":true' pred.jsonl > rows.jsonl
	run -0 maas-prep -f jsonl -t prediction --split 1,0,0 --drop time,id,model,version,probability \
		-o back.safetensors rows.jsonl
	[[ $output == *"train [2,4]"* ]]
}

@test "--log-sample keeps a fraction, and bad values are refused" {
	run -64 maas-serve --log-sample 1.5 "$IRIS"
	[[ $output == *"bad --log-sample '1.5': a fraction from 0 to 1"* ]]
	run -73 maas-serve --port 0 --log-predictions /nonexistent/dir/p.jsonl "$IRIS"
	[[ $output == *"cannot open '/nonexistent/dir/p.jsonl'"* ]]
	start_server -q --log-predictions pred.jsonl --log-sample 0.5 "$IRIS"
	instances > req.json
	for _ in 1 2 3 4; do
		req -H 'Content-Type: application/json' --data-binary @req.json "$URL/v1/models/iris:predict"
		[ "$code" = 200 ]
	done
	n=$(wc -l < pred.jsonl)
	echo "logged $n of 600"
	[ "$n" -gt 240 ] && [ "$n" -lt 360 ]
	[ "$(metric 'maas_predictions_logged_total{model="iris",version="1"}')" = "$n" ]
}

@test "feedback joins labels to predictions: live accuracy, labelled rows, 404 for unknown ids" {
	start_server -q --log-predictions pred.jsonl "$IRIS"
	instances > req.json
	req -D headers -H 'Content-Type: application/json' --data-binary @req.json "$URL/v1/models/iris:predict"
	[ "$code" = 200 ]
	rid=$(tr -d '\r' < headers | sed -n 's/^X-Request-Id: //p')
	[ -n "$rid" ]
	# the first 8 instances: the predicted label for 0-5, another label for 6-7: accuracy 6/8
	"$PY" -c '
import json
preds = json.load(open("body"))["predictions"]
labels = ["setosa", "versicolor", "virginica"]
fb = []
for i in range(8):
    p = preds[i]["label"]
    fb.append({"id": "'"$rid"'/%d" % i, "label": p if i < 6 else labels[(labels.index(p) + 1) % 3]})
json.dump(fb, open("fb.json", "w"))'
	req --data-binary @fb.json "$URL/v1/models/iris:feedback"
	[ "$code" = 200 ]
	"$PY" -c 'import json; d = json.load(open("body")); assert d == {"accepted": 8, "feedback_total": 8, "accuracy": 0.75}, d'
	[ "$(metric 'maas_live_accuracy{model="iris",version="1"}')" = 0.75 ]
	[ "$(metric 'maas_feedback_total{model="iris",version="1"}')" = 8 ]

	req -d '{"id": "99999/0", "label": "setosa"}' "$URL/v1/models/iris:feedback"
	[ "$code" = 404 ]
	grep -q "no prediction '99999/0' of model 'iris' version 1 is remembered" body
	req -d "{\"id\": \"$rid/0\", \"label\": \"tulip\"}" "$URL/v1/models/iris:feedback"
	[ "$code" = 400 ]
	grep -q 'label \\"tulip\\" is not one of model' body
	req -d '{"id": 3}' "$URL/v1/models/iris:feedback"
	[ "$code" = 400 ]
	req -d 'nope' "$URL/v1/models/iris:feedback"
	[ "$code" = 400 ]
	req "$URL/v1/models/iris:feedback"
	[ "$code" = 405 ]
	[ "$(metric 'maas_feedback_total{model="iris",version="1"}')" = 8 ]

	# the labelled rows are a training set for maas-prep
	[ "$(grep -c '"feedback":true' pred.jsonl)" -eq 8 ]
	grep '"feedback":true' pred.jsonl |
		maas-prep -q -f jsonl -t species --drop time,id,model,version,prediction,probability,feedback \
			--split-method random -o new.safetensors -
	st_json new.safetensors > new.json
	"$PY" -c '
import json
d = json.load(open("new.json"))
t = d["tensors"]
n = sum(t[s + ".x"]["shape"][0] for s in ("train", "val", "test") if s + ".x" in t)
assert n == 8, n
assert all(t[s + ".x"]["shape"][1] == 4 for s in ("train", "val", "test") if s + ".x" in t), t
prep = json.loads(d["metadata"]["prep"])
assert [c["name"] for c in prep["columns"]] == ["sepalLength", "sepalWidth", "petalLength", "petalWidth"], prep
assert prep["target"]["name"] == "species", prep'
}

@test "drift: PSI near 0 for the training data's own rows, large for shifted inputs" {
	start_server -q "$IRIS"
	[ -z "$(metric 'maas_drift_psi_max{model="iris",version="1"}')" ]
	instances > req.json
	req -H 'Content-Type: application/json' --data-binary @req.json "$URL/v1/models/iris:predict"
	[ "$code" = 200 ]
	max=$(metric 'maas_drift_psi_max{model="iris",version="1"}')
	echo "PSI max on the training data: $max"
	"$PY" -c "assert 0 <= $max < 0.1, $max"
	# the same hand-checked: the bundle's deciles and the served counts of sepalLength
	psi=$(metric 'maas_feature_psi{model="iris",version="1",feature="sepalLength"}')
	"$PY" - "$IRIS/prep.json" "$psi" <<-'EOF'
		import json, sys, numpy as np
		spec = json.load(open(sys.argv[1]))
		st = [c for c in spec["columns"] if c["name"] == "sepalLength"][0]["stats"]
		e, q = st["edges"], np.array(st["frac"], float)
		rows = json.load(open("/usr/lib/python3/dist-packages/vega_datasets/_data/iris.json"))
		v = np.array([r["sepalLength"] for r in rows], np.float32).astype(float)
		b = np.array([sum(1 for k in range(1, 10) if e[k] <= x) for x in v])
		p = np.bincount(b, minlength=10) / len(v)
		p[p == 0] = 1e-4; q[q == 0] = 1e-4
		want = float(np.sum((p - q) * np.log(p / q)))
		assert abs(want - float(sys.argv[2])) < 1e-6, (want, sys.argv[2])
	EOF
	stop_server

	start_server -q "$IRIS"
	instances '{**r, "sepalLength": r["sepalLength"] + 10}' > shifted.json
	req -H 'Content-Type: application/json' --data-binary @shifted.json "$URL/v1/models/iris:predict"
	[ "$code" = 200 ]
	psi=$(metric 'maas_feature_psi{model="iris",version="1",feature="sepalLength"}')
	max=$(metric 'maas_drift_psi_max{model="iris",version="1"}')
	other=$(metric 'maas_feature_psi{model="iris",version="1",feature="petalWidth"}')
	echo "shifted: sepalLength $psi, max $max, petalWidth $other"
	"$PY" -c "assert $psi > 5 and $max == $psi and $other < 0.1, ($psi, $max, $other)"
}

@test "SIGHUP reopens the prediction log (logrotate)" {
	start_server -q --log-predictions pred.jsonl "$IRIS"
	instances > req.json
	req -H 'Content-Type: application/json' --data-binary @req.json "$URL/v1/models/iris:predict"
	[ "$code" = 200 ]
	mv pred.jsonl pred.jsonl.1
	kill -HUP "$SERVER_PID"
	for _ in $(seq 100); do
		[ -e pred.jsonl ] && break
		sleep 0.05
	done
	[ -e pred.jsonl ]
	req -H 'Content-Type: application/json' --data-binary @req.json "$URL/v1/models/iris:predict"
	[ "$code" = 200 ]
	[ "$(wc -l < pred.jsonl.1)" -eq 150 ]
	[ "$(wc -l < pred.jsonl)" -eq 150 ]
}
