#!/usr/bin/env bats
# code and SERVER_PID are set and read by serve-helper.bash (bats load):
# shellcheck disable=SC2154,SC2034
# serve-reload.bats - maas-serve's hot reload (SIGHUP and the repository
# extension's load/unload) under load without a failed request, a failed
# load that keeps the old model, and readiness during the drain after
# SIGTERM (--drain-seconds).  Every wait is bounded; teardown stops the
# server.

load helper
load serve-helper

setup_file() {
	[ -r "$VEGA/iris.json" ] || return 0
	serve_bundles iris  # iris.safetensors, and iris.maas
	cd "$BATS_FILE_TMPDIR" || return 1
	# two versions that answer differently
	"$MAAS_BIN/maas-train" -q -e 3 -o v1.maas iris.safetensors
	"$MAAS_BIN/maas-train" -q -e 3 -a dense:32,relu -o v2.maas iris.safetensors
}

setup() {
	serve_setup
	V1=$BATS_FILE_TMPDIR/v1.maas
	V2=$BATS_FILE_TMPDIR/v2.maas
	# the served path is a symbolic link, switched atomically between versions
	ln -s "$V1" cur.maas
	"$PY" -c 'import json; print(json.dumps({"instances": [json.loads(open("'"$V1"'/examples.jsonl").readline())["input"]]}))' > rec.json
}

teardown() {
	serve_teardown
}

# switch DIR: points cur.maas at DIR atomically
switch() {
	ln -sfn "$1" cur.tmp && mv -T cur.tmp cur.maas
}

# setosa: the probability of setosa the server gives for rec.json now
setosa() {
	req "$URL/v1/models/iris:predict" --data-binary @rec.json
	[ "$code" = 200 ] || { cat body; return 1; }
	"$PY" -c 'import json; print(json.load(open("body"))["predictions"][0]["probabilities"]["setosa"])'
}

@test "SIGHUP and POST .../load swap versions under load without one failed request" {
	start_server -q --threads 4 cur.maas
	p1=$(setosa)
	# two clients, 150 requests each, while the versions change six times
	clients=()
	for c in 1 2; do
		(for _ in $(seq 150); do
			curl -s -m 10 -o - -w '\n%{http_code}\n' --data-binary @rec.json "$URL/v1/models/iris:predict"
		done > "client$c.log" 2>&1) &
		clients+=($!)
	done
	for _ in 1 2 3; do
		sleep 0.15
		switch "$V2"
		kill -HUP "$SERVER_PID"
		sleep 0.15
		switch "$V1"
		req -X POST "$URL/v2/repository/models/iris/load"
		[ "$code" = 200 ] || { cat body; false; }
		[ "$(cat body)" = '{}' ]
	done
	# bounded: each curl gives up after 10 s, and the clients end
	wait "${clients[@]}"
	"$PY" - client1.log client2.log <<'EOF'
import json, sys
seen = set()
for name in sys.argv[1:]:
    lines = open(name).read().split("\n")
    bodies, codes = lines[0::2], lines[1::2]
    codes = [c for c in codes if c]
    assert len(codes) == 150, (name, len(codes))
    bad = [(c, b) for c, b in zip(codes, bodies) if c != "200"]
    assert not bad, bad[:3]
    for b in bodies[:150]:
        seen.add(round(json.loads(b)["predictions"][0]["probabilities"]["setosa"], 6))
# both versions answered
assert len(seen) == 2, seen
EOF
	# the last load was v1's, and SIGHUP brought v2 in between
	[ "$(setosa)" = "$p1" ]
	switch "$V2"
	kill -HUP "$SERVER_PID"
	for _ in $(seq 100); do [ "$(setosa)" != "$p1" ] && break; sleep 0.05; done
	[ "$(setosa)" != "$p1" ]
	req "$URL/metrics"
	grep -qx 'maas_model_loads_total{model="iris",version="1",result="ok"} 8' body
	run ! grep -q 'result="failed"' body
	stop_server TERM
	[ "$SERVER_STATUS" -eq 0 ]
}

@test "a failed load keeps the old model and says why, over HTTP and on SIGHUP" {
	cp -R "$V1" broken.maas
	printf 'not weights' > broken.maas/weights.safetensors
	start_server cur.maas
	p1=$(setosa)
	switch broken.maas
	req -X POST "$URL/v2/repository/models/iris/load"
	[ "$code" = 400 ]
	grep -q "cannot load model 'iris' version 1 from 'cur.maas': .*'weights.safetensors' has 11 bytes" body
	[ "$(setosa)" = "$p1" ]
	req "$URL/v2/models/iris/ready"; [ "$code" = 200 ]
	# the index says the model is ready, and why the last load failed
	req -X POST "$URL/v2/repository/index"
	[ "$code" = 200 ]
	"$PY" -c '
import json; d = json.load(open("body"))
assert len(d) == 1 and d[0]["name"] == "iris" and d[0]["version"] == "1" and d[0]["state"] == "READY", d
assert "weights.safetensors" in d[0]["reason"], d'
	kill -HUP "$SERVER_PID"
	for _ in $(seq 100); do grep -q 'SIGHUP' serve.err && break; sleep 0.05; done
	grep -q "warning: cannot load model 'iris' version 1 from 'cur.maas': .*weights.safetensors.*; keeping the version being served" serve.err
	[ "$(setosa)" = "$p1" ]
	req "$URL/metrics"
	grep -qx 'maas_model_loads_total{model="iris",version="1",result="ok"} 1' body
	grep -qx 'maas_model_loads_total{model="iris",version="1",result="failed"} 2' body
	# a missing bundle is refused the same way
	rm cur.maas
	req -X POST "$URL/v2/repository/models/iris/load"
	[ "$code" = 400 ]; grep -q "cannot load model 'iris'" body
	[ "$(setosa)" = "$p1" ]
	# fixed again, the next load succeeds
	switch "$V1"
	req -X POST "$URL/v2/repository/models/iris/load"; [ "$code" = 200 ]
	req -X POST "$URL/v2/repository/index"
	"$PY" -c 'import json; d = json.load(open("body")); assert d == [{"name": "iris", "version": "1", "state": "READY"}], d'
}

@test "unload makes a model unavailable until it is loaded again; bad repository requests" {
	start_server -q cur.maas
	req -X POST "$URL/v2/repository/models/iris/unload"
	[ "$code" = 200 ]; [ "$(cat body)" = '{}' ]
	req "$URL/v1/models/iris:predict" --data-binary @rec.json
	[ "$code" = 404 ]; grep -q "model 'iris' is unloaded" body
	req "$URL/v2/models/iris/versions/1/ready"
	[ "$code" = 404 ]; grep -q "model 'iris' version 1 is unloaded" body
	req -X POST "$URL/v2/repository/index"
	"$PY" -c 'import json; d = json.load(open("body")); assert d == [{"name": "iris", "version": "1", "state": "UNAVAILABLE", "reason": "unloaded"}], d'
	req "$URL/v1/models"
	[ "$(cat body)" = '{"models":[]}' ]
	req -X POST "$URL/v2/repository/models/iris/load" -H 'Content-Type: application/json' -d '{"parameters":{}}'
	[ "$code" = 200 ]
	req "$URL/v1/models/iris:predict" --data-binary @rec.json; [ "$code" = 200 ]
	# errors
	req -X POST "$URL/v2/repository/models/nope/load"
	[ "$code" = 404 ]; grep -q "model 'nope' is not in the repository" body
	req -X POST "$URL/v2/repository/models/nope/unload"
	[ "$code" = 404 ]
	req "$URL/v2/repository/models/iris/load"
	[ "$code" = 405 ]
	req -X POST "$URL/v2/repository/models/iris/load" -d '[1]'
	[ "$code" = 400 ]; grep -q 'must be a JSON object' body
	req -X POST "$URL/v2/repository/models/iris/load" -d '{"parameters":{"config":"{}"}}'
	[ "$code" = 400 ]; grep -q 'parameters are not supported' body
	req -X POST "$URL/v2/repository/models/iris/reload"
	[ "$code" = 404 ]
	req "$URL/v1/models/iris:predict" --data-binary @rec.json; [ "$code" = 200 ]
}

@test "SIGTERM turns readiness 503 at once while requests in flight finish, then exits 0" {
	start_server -q --threads 4 cur.maas
	req "$URL/v2/health/ready"; [ "$code" = 200 ]
	# A: a request whose body trickles in for 3 s
	{ printf '{"instances":'; sleep 3; printf '[]}'; } \
		| curl -s -m 10 -X POST -T - -o a.body -w '%{http_code}' "$URL/v1/models/iris:predict" > a.code &
	a=$!
	# B: a request of 1.5 s, then readiness asked on the same (kept-alive) connection
	{ printf '{"instances":'; sleep 1.5; printf '[]}'; } \
		| curl -s -m 10 -X POST -T - -o b1.body -w '%{http_code}\n' "$URL/v1/models/iris:predict" \
			--next -s -m 10 -o b2.body -w '%{http_code}\n' "$URL/v2/health/ready" \
			--next -s -m 10 -o b3.body -w '%{http_code}\n' "$URL/v2/models/iris/ready" > b.codes &
	b=$!
	sleep 0.5
	kill -TERM "$SERVER_PID"
	wait "$b" "$a"
	[ "$(cat b.codes)" = "$(printf '200\n503\n503')" ] || { cat b.codes b2.body b3.body; false; }
	[ "$(cat b2.body)" = '{"ready":false}' ]
	[ "$(cat b3.body)" = '{"name":"iris","version":"1","ready":false}' ]
	[ "$(cat a.code)" = 200 ]; [ "$(cat a.body)" = '{"predictions":[]}' ]
	stop_server none
	[ "$SERVER_STATUS" -eq 0 ]
	run ! grep -q 'unfinished' serve.err
}

@test "--drain-seconds bounds the wait for requests in flight" {
	start_server --drain-seconds 1 cur.maas
	{ printf '{"instances":'; sleep 6; printf '[]}'; } \
		| curl -s -m 10 -X POST -T - -o /dev/null "$URL/v1/models/iris:predict" &
	slow=$!
	sleep 0.5
	t0=$(date +%s)
	kill -TERM "$SERVER_PID"
	stop_server none
	[ "$SERVER_STATUS" -eq 0 ]
	[ $(($(date +%s) - t0)) -le 3 ]
	grep -q 'stopped with 1 request unfinished after 1 s' serve.err
	wait "$slow" || true
	run -64 "$MAAS_BIN/maas-serve" --drain-seconds x cur.maas
	[[ $output == *"bad --drain-seconds 'x'"* ]]
}
