#!/usr/bin/env bats
# code and SERVER_PID are set and read by serve-helper.bash (bats load), in
# each test's own subshell:
# shellcheck disable=SC2154,SC2034,SC2030,SC2031
# serve.bats - maas-serve: the HTTP server started on a free port and driven
# with curl (every endpoint, the errors, the limits, /metrics, SIGTERM), and
# batch mode on stdin.  Every wait is bounded; teardown stops the server.

load helper
load serve-helper

setup_file() {
	serve_bundles iris cars
}

setup() {
	serve_setup
}

teardown() {
	serve_teardown
}

jq_py() {
	"$PY" -c "import json, sys; d = json.load(open('body')); $1"
}

@test "the server prints its address, answers health and metadata, and stops on SIGTERM with 0" {
	start_server -q "$IRIS"
	[[ $URL == http://127.0.0.1:* ]]
	req "$URL/v2/health/live"; [ "$code" = 200 ]; [ "$(cat body)" = '{"live":true}' ]
	req "$URL/v2/health/ready"; [ "$code" = 200 ]; [ "$(cat body)" = '{"ready":true}' ]
	req "$URL/v2"; [ "$code" = 200 ]
	jq_py 'assert d["name"] == "maas-serve" and d["extensions"] == [] and d["version"], d'
	req "$URL/v2/models/iris"; [ "$code" = 200 ]
	jq_py '
assert d["name"] == "iris" and d["versions"] == ["1"] and d["platform"] == "maas", d
assert d["inputs"] == [{"name": "x", "datatype": "FP32", "shape": [-1, 4]}], d
assert [o["name"] for o in d["outputs"]] == ["probabilities", "class", "label"], d
assert d["outputs"][0]["shape"] == [-1, 3], d
m = json.load(open("'"$IRIS"'/MODEL.json"))
assert d["parameters"] == {"bundle": "'"$IRIS"'", "created": m["lineage"]["created"],
                           "weights_sha256": m["files"]["weights.safetensors"]["sha256"]}, d'
	req "$URL/v2/models/iris/versions/1/ready"; [ "$code" = 200 ]
	jq_py 'assert d == {"name": "iris", "version": "1", "ready": True}, d'
	stop_server TERM
	[ "$SERVER_STATUS" -eq 0 ]
}

@test "infer answers FP32 tensors, flat or nested, echoes the id and selects outputs" {
	start_server -q "$IRIS"
	# the first two test rows of the dataset, as features
	req "$URL/v2/models/iris/infer" -d '{"id":"r-1","inputs":[{"name":"x","datatype":"FP32","shape":[2,4],"data":[0.1,0.2,0.3,0.4,-1,1,-1,1]}]}'
	[ "$code" = 200 ]
	cp body flat.json
	jq_py '
assert d["model_name"] == "iris" and d["model_version"] == "1" and d["id"] == "r-1", d
o = {t["name"]: t for t in d["outputs"]}
p = o["probabilities"]; assert p["datatype"] == "FP32" and p["shape"] == [2, 3], p
for i in range(2): assert abs(sum(p["data"][3*i:3*i+3]) - 1) < 1e-5, p
c = o["class"]; assert c["datatype"] == "INT64" and c["shape"] == [2, 1], c
for i in range(2):
    row = p["data"][3*i:3*i+3]; assert c["data"][i] == row.index(max(row)), (c, row)
names = ["setosa", "versicolor", "virginica"]
assert o["label"]["data"] == [names[k] for k in c["data"]], o["label"]'
	req "$URL/v2/models/iris/versions/1/infer" -d '{"id":"r-1","inputs":[{"name":"x","datatype":"FP32","shape":[2,4],"data":[[0.1,0.2,0.3,0.4],[-1,1,-1,1]]}]}'
	[ "$code" = 200 ]
	cmp body flat.json
	req "$URL/v2/models/iris/infer" -d '{"inputs":[{"name":"x","datatype":"FP32","shape":[1,4],"data":[1,2,3,4]}],"outputs":[{"name":"class"}]}'
	[ "$code" = 200 ]
	jq_py 'assert [t["name"] for t in d["outputs"]] == ["class"] and "id" not in d, d'
}

@test "infer on a regression model answers value" {
	start_server -q "$CARS"
	n=$("$PY" -c 'import json; print(json.load(open("'"$CARS"'/MODEL.json"))["inputs"]["tensor"]["shape"][1])')
	data=$("$PY" -c "print(','.join(['0.5'] * $n))")
	req "$URL/v2/models/cars/infer" -d "{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1,$n],\"data\":[$data]}]}"
	[ "$code" = 200 ]
	jq_py 'o = d["outputs"]; assert len(o) == 1 and o[0]["name"] == "value" and o[0]["shape"] == [1, 1], o; assert 0 < o[0]["data"][0] < 100, o'
	req "$URL/v2/models/cars/infer" -d "{\"inputs\":[{\"name\":\"x\",\"datatype\":\"FP32\",\"shape\":[1,$n],\"data\":[$data]}],\"outputs\":[{\"name\":\"label\"}]}"
	[ "$code" = 400 ]; grep -q "has no output 'label'" body
}

@test "the records API predicts raw instances, as JSON or CSV, as the bundle's examples say" {
	start_server -q "$IRIS"
	"$PY" -c '
import json
ex = [json.loads(l) for l in open("'"$IRIS"'/examples.jsonl")]
json.dump({"instances": [e["input"] for e in ex]}, open("req.json", "w"))
json.dump([e["output"] for e in ex], open("want.json", "w"))'
	req "$URL/v1/models/iris:predict" --data-binary @req.json
	[ "$code" = 200 ]
	jq_py '
want = json.load(open("want.json")); got = d["predictions"]
assert len(got) == len(want)
for g, w in zip(got, want):
    assert g["label"] == w["label"], (g, w)
    for k, v in w["probabilities"].items(): assert abs(g["probabilities"][k] - v) < 1e-4, (g, w)'
	printf 'sepalLength,sepalWidth,petalLength,petalWidth\n4.7,3.2,1.3,0.2\n6.1,2.8,4.7,1.2\n' > two.csv
	req "$URL/v1/models/iris/versions/1:predict" -H 'Content-Type: text/csv' --data-binary @two.csv
	[ "$code" = 200 ]
	jq_py 'p = d["predictions"]; assert len(p) == 2 and all(set(x) == {"label", "class", "probabilities"} for x in p), p'
	req "$URL/v1/models/iris:predict" -d '{"instances":[{"sepalLength":4.7,"sepalWidth":3.2,"petalLength":1.3}]}'
	[ "$code" = 400 ]; grep -q "field 'petalWidth' is missing" body
}

@test "bad requests get a JSON error with the right code and the server stays up" {
	start_server -q --max-body 1000 --max-rows 2 "$IRIS"
	req "$URL/v2/models/iris/infer" -d '{"inputs": [ '
	[ "$code" = 400 ]; grep -q '"error":"cannot parse the request' body
	req "$URL/v2/models/iris/infer" -d '{"inputs":[{"name":"x","datatype":"FP32","shape":[1,3],"data":[1,2,3]}]}'
	[ "$code" = 400 ]; grep -q 'shape must be \[n, 4\]' body
	req "$URL/v2/models/iris/infer" -d '{"inputs":[{"name":"x","datatype":"FP32","shape":[2,4],"data":[1,2,3,4]}]}'
	[ "$code" = 400 ]; grep -q 'data has 4 elements, the shape says 8' body
	req "$URL/v2/models/iris/infer" -d '{"inputs":[{"name":"x","datatype":"INT32","shape":[1,4],"data":[1,2,3,4]}]}'
	[ "$code" = 400 ]; grep -q "datatype 'INT32' is not supported" body
	req "$URL/v2/models/iris/infer" -d '{"inputs":[{"name":"x","datatype":"FP32","shape":[1,4],"data":[1,2,3,"NaN"]}]}'
	[ "$code" = 400 ]; grep -q 'data element 3 is not a number' body
	req "$URL/v2/models/iris/infer" -d '{"inputs":[{"name":"x","datatype":"FP32","shape":[1,4],"data":[1,2,3,1e39]}]}'
	[ "$code" = 400 ]; grep -q 'not a finite FP32 number' body
	req "$URL/v2/models/iris/infer" -d '{"inputs":[{"name":"y","datatype":"FP32","shape":[1,4],"data":[1,2,3,4]}]}'
	[ "$code" = 400 ]; grep -q "unknown input 'y'" body
	req "$URL/v2/models/nope/infer" -d '{}'
	[ "$code" = 404 ]; [ "$(cat body)" = '{"error":"model '\''nope'\'' is not served"}' ]
	req "$URL/v2/models/iris/versions/9"
	[ "$code" = 404 ]; grep -q "model 'iris' has no version '9'" body
	req "$URL/v2/nothing"
	[ "$code" = 404 ]
	req -X DELETE "$URL/v2/models/iris"
	[ "$code" = 405 ]
	head -c 5000 /dev/zero | tr '\0' ' ' > big
	req "$URL/v2/models/iris/infer" --data-binary @big
	[ "$code" = 413 ]; grep -q 'exceeds the limit of 1000 bytes' body
	req "$URL/v2/models/iris/infer" -d '{"inputs":[{"name":"x","datatype":"FP32","shape":[3,4],"data":[1,2,3,4,1,2,3,4,1,2,3,4]}]}'
	[ "$code" = 413 ]; grep -q '3 rows exceed the limit of 2' body
	req "$URL/v1/models/iris:predict" -d '{"instances":[{},{},{}]}'
	[ "$code" = 413 ]
	req "$URL/v2/health/live"
	[ "$code" = 200 ]
}

@test "two versions of one model: the highest answers when none is named" {
	start_server -q "iris:1=$IRIS" "iris:10=$IRIS" "flowers=$IRIS"
	req "$URL/v2/models/iris"; [ "$code" = 200 ]
	jq_py 'assert d["versions"] == ["1", "10"], d'
	req "$URL/v2/models/iris/infer" -d '{"inputs":[{"name":"x","datatype":"FP32","shape":[1,4],"data":[1,2,3,4]}]}'
	jq_py 'assert d["model_version"] == "10", d'
	req "$URL/v2/models/iris/versions/1/infer" -d '{"inputs":[{"name":"x","datatype":"FP32","shape":[1,4],"data":[1,2,3,4]}]}'
	jq_py 'assert d["model_version"] == "1", d'
	req "$URL/v2/models/flowers/ready"; [ "$code" = 200 ]
	run -64 "$MAAS_BIN/maas-serve" --port 0 "$IRIS" "$IRIS"
	[[ $output == *"model 'iris' version 1 is given twice"* ]]
}

@test "metrics are Prometheus text, count requests, and pass promtool" {
	start_server -q --batch-min-gain 0 "$IRIS"
	req "$URL/v2/models/iris/infer" -d '{"inputs":[{"name":"x","datatype":"FP32","shape":[1,4],"data":[1,2,3,4]}]}'
	req "$URL/v2/models/iris/infer" -d 'nope'
	req "$URL/v2/models/nope"
	req "$URL/metrics"
	[ "$code" = 200 ]
	grep -qx 'maas_requests_total{model="iris",version="1",route="infer",code="200"} 1' body
	grep -qx 'maas_requests_total{model="iris",version="1",route="infer",code="400"} 1' body
	grep -qx 'maas_requests_total{model="",version="",route="model_metadata",code="404"} 1' body
	grep -qx 'maas_request_duration_seconds_count{model="iris",version="1",route="infer"} 2' body
	grep -qx 'maas_request_duration_seconds_bucket{model="iris",version="1",route="infer",le="+Inf"} 2' body
	grep -qx 'maas_model_loads_total{model="iris",version="1",result="ok"} 1' body
	grep -q '^maas_model_load_seconds{model="iris",version="1"} [0-9.e-]*$' body
	grep -qx 'maas_in_flight_requests 1' body   # this very request
	grep -qx 'maas_compute_seconds_count{model="iris",version="1"} 1' body
	grep -qx 'maas_queue_seconds_count{model="iris",version="1"} 1' body
	grep -qx 'maas_queue_depth 0' body
	for m in process_cpu_seconds_total process_resident_memory_bytes process_start_time_seconds process_open_fds; do
		grep -q "^$m [0-9.e+]*$" body || { echo "no $m"; false; }
	done
	[ "$(sed -n 's/^process_resident_memory_bytes //p' body)" -gt 1000000 ]
	if command -v promtool >/dev/null; then
		promtool check metrics < body
	fi
}

@test "the access log has one JSON line per request" {
	start_server -q --access-log log.jsonl "$IRIS"
	req "$URL/v2/models/iris/infer" -d '{"inputs":[{"name":"x","datatype":"FP32","shape":[1,4],"data":[1,2,3,4]}]}'
	req "$URL/v2/models/nope"
	stop_server
	[ "$SERVER_STATUS" -eq 0 ]
	"$PY" -c '
import json
lines = [json.loads(l) for l in open("log.jsonl")]
assert len(lines) == 2, lines
a, b = lines
assert a["model"] == "iris" and a["version"] == "1" and a["route"] == "infer" and a["status"] == 200, a
assert a["bytes"] > 0 and a["total_us"] >= 0 and a["id"] == 1 and a["time"].endswith("Z"), a
assert 0 <= a["queue_us"] <= a["total_us"] and 0 <= a["compute_us"] <= a["total_us"], a
assert b["queue_us"] == 0 and b["compute_us"] == 0, b
assert b["status"] == 404 and b["model"] == "" and b["path"] == "/v2/models/nope", b'
}

@test "--max-in-flight answers 503 with Retry-After beyond the limit" {
	start_server -q --max-in-flight 1 "$IRIS"
	# a request that holds its slot: its body trickles in
	{ printf 'POST /v2/models/iris/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{'; sleep 2; } \
		| curl -s -m 5 telnet://"${URL#http://}" > /dev/null 2>&1 &
	slow=$!
	for _ in $(seq 100); do
		code=$(curl -s -m 5 -o body -D headers -w '%{http_code}' "$URL/v2/health/live")
		[ "$code" = 503 ] && break
		sleep 0.02
	done
	kill "$slow" 2>/dev/null; wait "$slow" || true
	[ "$code" = 503 ]
	grep -qi '^Retry-After: 1' headers
	grep -q 'too many requests in flight (limit 1)' body
}

@test "slow clients that trickle bytes hold no worker thread, stay bounded in memory and are closed when idle" {
	start_server -q --threads 2 --idle-timeout 2 "$IRIS"
	rss() { curl -s -m 5 "$URL/metrics" | awk '$1 == "process_resident_memory_bytes" { printf "%d\n", $2 }'; }
	before=$(rss)
	# 300 connections send half a request, trickle a byte every 0.4 s for
	# 1.2 s, then fall silent; the script says how many the server closed
	"$PY" - "${URL#http://}" > slow.out <<-'EOF' &
		import socket, sys, time
		host, port = sys.argv[1].rsplit(":", 1)
		socks = []
		for _ in range(300):
		    s = socket.create_connection((host, int(port)))
		    s.sendall(b"POST /v2/models/iris/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{")
		    socks.append(s)
		open("slow.ready", "w").close()
		for _ in range(3):
		    time.sleep(0.4)
		    for s in socks:
		        s.sendall(b" ")
		deadline = time.time() + 10
		closed = 0
		for s in socks:
		    s.settimeout(max(0.01, deadline - time.time()))
		    try:
		        closed += s.recv(1) == b""
		    except (socket.timeout, ConnectionResetError):
		        closed += 1
		print(closed)
	EOF
	slow=$!
	for _ in $(seq 100); do [ -e slow.ready ] && break; sleep 0.05; done
	[ -e slow.ready ]
	# meanwhile, ordinary requests are answered at once
	for _ in 1 2 3 4 5; do
		req -m 1 -d '{"inputs":[{"name":"x","shape":[1,4],"datatype":"FP32","data":[5.1,3.5,1.4,0.2]}]}' \
			"$URL/v2/models/iris/infer"
		[ "$code" = 200 ]
	done
	during=$(rss)
	wait "$slow"
	echo "resident memory $before before, $during with 300 slow clients; closed: $(cat slow.out)"
	[ $((during - before)) -lt $((32 << 20)) ]
	[ "$(cat slow.out)" = 300 ]
	# and the server is still there
	req "$URL/v2/health/live"
	[ "$code" = 200 ]
}

@test "SIGINT stops the server with 0 too; a port in use is an error" {
	start_server -q "$IRIS"
	port=${URL##*:}
	run -71 timeout 10 "$MAAS_BIN/maas-serve" -q --port "$port" "$IRIS"
	[[ $output == *"cannot listen on '127.0.0.1:$port'"* ]]
	stop_server INT
	[ "$SERVER_STATUS" -eq 0 ]
}

@test "usage errors exit 64" {
	run -64 "$MAAS_BIN/maas-serve"
	[[ $output == *"no model"* ]]
	run -64 "$MAAS_BIN/maas-serve" --port 70000 "$IRIS"
	run -64 "$MAAS_BIN/maas-serve" --listen nowhere "$IRIS"
	run -64 "$MAAS_BIN/maas-serve" --port 1 --listen 127.0.0.1:2 "$IRIS"
	run -64 "$MAAS_BIN/maas-serve" --stdin "$IRIS" "$IRIS"
	run -64 "$MAAS_BIN/maas-serve" --stdin "$IRIS" --format xml
	run -66 "$MAAS_BIN/maas-serve" --stdin no-such.maas
}

@test "batch mode predicts what the bundle's examples say, from JSON lines and CSV" {
	"$PY" -c '
import json
ex = [json.loads(l) for l in open("'"$IRIS"'/examples.jsonl")]
with open("in.jsonl", "w") as f:
    for e in ex: f.write(json.dumps(e["input"]) + "\n")
with open("in.csv", "w") as f:
    keys = list(ex[0]["input"])
    f.write(",".join(keys) + "\n")
    for e in ex: f.write(",".join(str(e["input"][k]) for k in keys) + "\n")
json.dump([e["output"] for e in ex], open("want.json", "w"))'
	"$MAAS_BIN/maas-serve" --stdin "$IRIS" < in.jsonl > out.jsonl
	"$MAAS_BIN/maas-serve" --stdin "$IRIS" --format csv --batch-size 3 < in.csv > out-csv.jsonl
	"$PY" -c '
import json
want = json.load(open("want.json"))
for name, first in (("out.jsonl", 1), ("out-csv.jsonl", 2)):
    got = [json.loads(l) for l in open(name)]
    assert len(got) == len(want), (name, len(got))
    for i, (g, w) in enumerate(zip(got, want)):
        assert g["line"] == first + i, g
        p = g["prediction"]
        assert p["label"] == w["label"], (g, w)
        for k, v in w["probabilities"].items(): assert abs(p["probabilities"][k] - v) < 1e-4, (g, w)'
}

@test "SIGTERM lets a request in flight finish before the server exits 0" {
	start_server -q "$IRIS"
	# the body trickles in (chunked upload from a pipe) while the signal arrives
	{ printf '{"inputs":[{"name":"x",'; sleep 1; printf '"datatype":"FP32","shape":[1,4],"data":[1,2,3,4]}]}'; } \
		| curl -s -m 10 -X POST -T - -H 'Content-Type: application/json' -o slow.body -w '%{http_code}' \
			"$URL/v2/models/iris/infer" > slow.code &
	slow=$!
	sleep 0.5
	kill -TERM "$SERVER_PID"
	wait "$slow"
	[ "$(cat slow.code)" = 200 ]
	grep -q '"model_name":"iris"' slow.body
	stop_server none
	[ "$SERVER_STATUS" -eq 0 ] || { echo "exit $SERVER_STATUS"; cat serve.err; false; }
	# and nothing listens any more
	run curl -s -m 5 "$URL/v2/health/live"
	[ "$status" -ne 0 ]
}
