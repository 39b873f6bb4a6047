#!/usr/bin/env bats
# code and SERVER_PID are set and read by serve-helper.bash (bats load):
# shellcheck disable=SC2154,SC2034
# serve-batching.bats - maas-serve's dynamic batching (lib/serve/batcher.c)
# and the OIP v2 fast path (lib/serve/fastjson.c): concurrent requests
# (curl under xargs -P) give the answers of sequential ones, batches of more
# than one row happen and show in /metrics, --batch-delay 0 turns batching
# off, and bodies the fast path hands to jansson answer the same.  Every
# wait is bounded; teardown stops the server.

load helper
load serve-helper

setup_file() {
	serve_bundles iris
	cd "$BATS_FILE_TMPDIR" || return 1
	# 48 bodies of 1 row and 48 of 1000 rows (a parameters member sends
	# those through jansson: they take long enough to parse that concurrent
	# ones meet in the queue)
	"$PY" - << 'EOF'
import json, random
random.seed(7)
for i in range(48):
    x = [round(random.uniform(-2, 2), 4) for _ in range(4)]
    body = {"id": "r%d" % i, "inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP32", "data": [x]}]}
    with open("body%d.json" % i, "w") as f:
        json.dump(body, f)
    x = [[round(random.uniform(-2, 2), 4) for _ in range(4)] for _ in range(1000)]
    body = {"id": "r%d" % i, "parameters": {}, "inputs": [{"name": "x", "shape": [1000, 4], "datatype": "FP32", "data": x}]}
    with open("big%d.json" % i, "w") as f:
        json.dump(body, f)
    # the records API: 1000 raw instances (some with a field missing, imputed)
    rows = [{"sepalLength": round(random.uniform(4, 8), 1), "sepalWidth": round(random.uniform(2, 4.5), 1),
             "petalLength": round(random.uniform(1, 7), 1), "petalWidth": None if k % 7 == 0 else round(random.uniform(0.1, 2.5), 1)}
            for k in range(1000)]
    with open("rec%d.json" % i, "w") as f:
        json.dump({"instances": rows}, f)
EOF
}

setup() {
	serve_setup
	B=$BATS_FILE_TMPDIR
}

teardown() {
	serve_teardown
}

# infer N [big]: POST body N (or big N), the answer in out.N
infer() {
	curl -s -m 10 -o "out.$1" -w '%{http_code}\n' -d @"$B/${2:-body}$1.json" "$URL/v2/models/iris/infer" > "code.$1"
}

# same_answers A B: the answers of two runs agree for every body: the same
# id, class and label, probabilities within 1e-6 (a batched GEMM may round
# the last bit of a float differently from a one-row product)
same_answers() {
	"$PY" - "$1" "$2" << 'EOF'
import json, sys
exact = 0
for i in range(48):
    a = json.load(open("%s.%d" % (sys.argv[1], i)))
    b = json.load(open("%s.%d" % (sys.argv[2], i)))
    assert a["id"] == b["id"] == "r%d" % i, (a, b)
    oa = {o["name"]: o for o in a["outputs"]}
    ob = {o["name"]: o for o in b["outputs"]}
    assert oa["class"] == ob["class"] and oa["label"] == ob["label"], (i, a, b)
    pa, pb = oa["probabilities"]["data"], ob["probabilities"]["data"]
    assert len(pa) == len(pb) and all(abs(x - y) <= 1e-6 for x, y in zip(pa, pb)), (i, pa, pb)
    exact += a == b
print("%d of 48 answers identical to the byte" % exact)
EOF
}

# sequential_then_parallel P [big]: the 48 bodies (or big ones) one by
# one, then P at a time; every answer is 200 and the same as alone
sequential_then_parallel() {
	local kind=${2:-body}
	for i in $(seq 0 47); do infer "$i" "$kind"; done
	mkdir seq && mv out.* seq/
	seq 0 47 | timeout 60 xargs -P "$1" -I{} bash -c "infer {} $kind"
	[ "$(cat code.* | sort -u)" = 200 ]
	( cd seq && for f in out.*; do mv "$f" "s${f#out}"; done )
	mv seq/s.* .
	run same_answers s out
	[ "$status" -eq 0 ] || { echo "$output"; false; }
}

# batch_metrics: from $URL/metrics into the file metrics, and iris's rows
# computed in passes, passes, and requests that were queued or waited in
# a pass, into rows, passes and queued
batch_metrics() {
	curl -s -m 10 "$URL/metrics" > metrics
	rows=$(metric 'maas_batch_rows_sum\{model="iris",version="1"\}')
	passes=$(metric 'maas_batch_rows_count\{model="iris",version="1"\}')
	queued=$(metric 'maas_queue_seconds_count\{model="iris",version="1"\}')
}

# metric NAME: its value in the file metrics
metric() {
	awk -v n="$1" '$1 ~ "^" n "({|$)" { print $2 }' metrics
}

@test "concurrent requests give the answers of sequential ones, in batches of more than one row" {
	export -f infer
	export B
	# many worker threads and a long delay, so that requests meet
	start_server -q --threads 16 --max-batch-rows 4096 --batch-delay 50000 --batch-min-gain 0 "$IRIS"
	export URL
	sequential_then_parallel 24 big
	echo "# $output" >&3
	batch_metrics
	single=$(awk '/^maas_batch_rows_bucket\{model="iris",version="1",le="1024"\}/ { print $2 }' metrics)
	echo "# rows $rows, passes $passes (of one request: $single), requests queued $queued" >&3
	[ "$rows" = 96000 ]
	[ "$queued" = 96 ]
	[ "$passes" -lt 96 ]
	[ "$single" -lt "$passes" ]
	grep -q '^# TYPE maas_batch_rows histogram$' metrics
	grep -q '^# TYPE maas_queue_seconds histogram$' metrics
	grep -q '^maas_batch_rows_bucket{model="iris",version="1",le="+Inf"} '"$passes"'$' metrics
}

# wait_for REGEX FILE: up to 10 s for a line of FILE to match
wait_for() {
	for _ in $(seq 200); do
		grep -q "$1" "$2" && return 0
		sleep 0.05
	done
	echo "no line matches '$1' in $2:"
	cat "$2"
	return 1
}

# predict N: POST records body N to the records API, the answer in out.N
predict() {
	curl -s -m 10 -o "out.$1" -w '%{http_code}\n' -d @"$B/rec$1.json" "$URL/v1/models/iris:predict" > "code.$1"
}

@test "the records API is batched too: concurrent requests answer as sequential ones" {
	export -f predict
	export B
	start_server -q --threads 16 -b 1024 --max-batch-rows 4096 --batch-delay 50000 --batch-min-gain 0 "$IRIS"
	export URL
	for i in $(seq 0 47); do predict "$i"; done
	mkdir seq && mv out.* seq/
	seq 0 47 | timeout 60 xargs -P 24 -I{} bash -c 'predict {}'
	[ "$(cat code.* | sort -u)" = 200 ]
	for i in $(seq 0 47); do
		# the same labels; probabilities within 1e-6 (see same_answers)
		"$PY" - "seq/out.$i" "out.$i" << 'EOF'
import json, sys
a, b = (json.load(open(f))["predictions"] for f in sys.argv[1:])
assert len(a) == len(b) == 1000
for x, y in zip(a, b):
    assert x["label"] == y["label"], (x, y)
    assert all(abs(x["probabilities"][k] - y["probabilities"][k]) <= 1e-6 for k in x["probabilities"]), (x, y)
EOF
	done
	batch_metrics
	echo "# records: rows $rows, passes $passes" >&3
	[ "$rows" = 96000 ]
	[ "$passes" -lt 96 ]
}

@test "a lone request does not wait for company: sequential requests take well under the delay" {
	start_server -q --batch-delay 1000000 --batch-min-gain 0 "$IRIS"
	start=$(date +%s%N)
	for i in $(seq 0 9); do infer "$i"; done
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	echo "10 requests in $ms ms"
	[ "$ms" -lt 3000 ]
	[ "$(cat code.* | sort -u)" = 200 ]
}

@test "--batch-delay 0 turns batching off; larger requests bypass the queue" {
	start_server -q --batch-delay 0 "$IRIS"
	export -f infer
	export B URL
	seq 0 15 | timeout 60 xargs -P 8 -I{} bash -c 'infer {}'
	[ "$(cat code.* | sort -u)" = 200 ]
	curl -s -m 10 "$URL/metrics" > metrics
	grep -q '^# TYPE maas_batch_rows histogram$' metrics
	run -1 grep -q '^maas_batch_rows_count' metrics
	kill -TERM "$SERVER_PID"; wait "$SERVER_PID" || true; SERVER_PID=

	start_server -q --max-batch-rows 2 --batch-min-gain 0 "$IRIS"
	curl -s -m 10 -o big -w '%{http_code}' -d '{"inputs":[{"name":"x","shape":[3,4],"datatype":"FP32",
		"data":[[1,2,3,4],[5,6,7,8],[0,0,0,0]]}]}' "$URL/v2/models/iris/infer" > code
	[ "$(cat code)" = 200 ]
	"$PY" -c 'import json; d = json.load(open("big")); assert d["outputs"][1]["shape"] == [3, 1], d'
}

@test "bodies off the fast path answer exactly as on it" {
	start_server -q "$IRIS"
	fast='{"id":"a","inputs":[{"name":"x","shape":[2,4],"datatype":"FP32","data":[[5.1,3.5,1.4,0.2],[6.7,3.0,5.2,2.3]]}]}'
	# an escape in the id and a "parameters" member: jansson's path
	slow='{"id":"\u0061","parameters":{},"inputs":[{"name":"x","shape":[2,4],"datatype":"FP32","parameters":{},"data":[5.1,3.5,1.4,0.2,6.7,3.0,5.2,2.3]}]}'
	curl -s -m 10 -d "$fast" "$URL/v2/models/iris/infer" > a
	curl -s -m 10 -d "$slow" "$URL/v2/models/iris/infer" > b
	grep -q '"outputs"' a
	cmp a b
	# what the fast path refuses, jansson explains
	curl -s -m 10 -o c -w '%{http_code}' -d '{"inputs":[{"name":"x","shape":[1,4],"datatype":"FP32","data":[1,2,3,01]}]}' \
		"$URL/v2/models/iris/infer" > code
	[ "$(cat code)" = 400 ]
	grep -q 'cannot parse the request' c
	curl -s -m 10 -o c -w '%{http_code}' -d '{"inputs":[{"name":"x","shape":[1,4],"datatype":"FP32","data":[1,2,3,1e39]}]}' \
		"$URL/v2/models/iris/infer" > code
	[ "$(cat code)" = 400 ]
	grep -q 'is not a finite FP32 number' c
}

@test "a model whose rows save little in a batch is not batched; -v says why" {
	start_server -v --batch-delay 50000 --threads 16 "$IRIS"
	# the measure comes once the server answers
	wait_for "batching 'iris' version 1: off (a row saves [0-9.]* us of compute in a pass of 4, --batch-min-gain 20)" serve.err
	export -f infer
	export B URL
	seq 0 15 | timeout 60 xargs -P 8 -I{} bash -c 'infer {} big'
	[ "$(cat code.* | sort -u)" = 200 ]
	curl -s -m 10 "$URL/metrics" > metrics
	run -1 grep -q '^maas_batch_rows_count' metrics
	grep -q '^maas_compute_seconds_count{model="iris",version="1"} 16$' metrics
	stop_server
	# a wide layer: one row alone costs far more than its share of four
	"$MAAS_BIN/maas-train" -q -e 1 -a dense:2048,relu,dense:2048,relu -o wide.maas "$BATS_FILE_TMPDIR/iris.safetensors"
	start_server -v wide.maas
	wait_for "batching 'iris' version 1: on (a row saves" serve.err
}

@test "a model whose rows save a little is batched within each worker's pass" {
	export -f infer
	export B
	# rows of two 2048-wide layers save far more than 3 us, less than 10^6
	"$MAAS_BIN/maas-train" -q -e 1 -a dense:2048,relu,dense:2048,relu -o wide.maas "$BATS_FILE_TMPDIR/iris.safetensors"
	start_server -v --threads 1 --batch-min-gain 1000000 wide.maas
	wait_for "batching 'iris' version 1: within each worker's pass (a row saves" serve.err
	export URL
	sequential_then_parallel 12
	batch_metrics
	echo "# $queued requests in $passes passes" >&3
	# 48 alone, one by one, then 48 at once: some share a pass
	[ "$queued" = 96 ]
	[ "$passes" -lt 96 ]
	# records requests join passes too, and answer
	echo '{"instances": [{"sepalLength": 5.1, "sepalWidth": 3.5, "petalLength": 1.4, "petalWidth": 0.2}]}' > rec.json
	seq 1 8 | timeout 60 xargs -P 8 -I{} curl -s -m 10 -o rec.{} -w '%{http_code}\n' -d @rec.json \
		"$URL/v1/models/iris:predict" > rcodes
	[ "$(sort -u rcodes)" = 200 ]
	grep -q '"predictions"' rec.1
	batch_metrics
	[ "$queued" = 104 ]
}

@test "SIGTERM under batched load drains and exits 0" {
	start_server -q --threads 4 --batch-min-gain 0 --max-batch-rows 4 --drain-seconds 5 "$IRIS"
	# keep-alive clients that go on sending through the drain
	for c in 1 2 3 4 5 6; do
		( for i in $(seq 0 47); do echo "url = \"$URL/v2/models/iris/infer\""; echo "data = \"@$B/body$i.json\""; done > "k$c"
		  curl -s -m 20 -K "k$c" -o /dev/null ) &
	done
	sleep 0.3
	stop_server TERM
	wait
	[ "$SERVER_STATUS" -eq 0 ]
	[ ! -s serve.err ] || { cat serve.err; false; }
}

@test "bad batching options are usage errors" {
	run -64 "$MAAS_BIN/maas-serve" --port 0 --batch-delay -1 "$IRIS"
	[[ $output == *"bad --batch-delay '-1'"* ]]
	run -64 "$MAAS_BIN/maas-serve" --port 0 --max-batch-rows 0 "$IRIS"
	[[ $output == *"bad --max-batch-rows '0'"* ]]
	run -64 "$MAAS_BIN/maas-serve" --port 0 --batch-min-gain -3 "$IRIS"
	[[ $output == *"bad --batch-min-gain '-3'"* ]]
}
