#!/usr/bin/env bats
# code and SERVER_PID are set and read by serve-helper.bash (bats load):
# shellcheck disable=SC2154,SC2034
# serve-auth.bats - maas-serve's API keys (--keys, --hash-key), scopes,
# per-key rate limits, the request deadline (--deadline) and the refusal to
# listen beyond loopback without keys.  Every wait is bounded; teardown
# stops the server.

load helper
load serve-helper

setup_file() {
	serve_bundles iris
}

setup() {
	serve_setup
	# keys: app (predict, no limit), ops (admin), slow (predict, 1 per 100 s, burst 2)
	{
		echo "# test keys"
		echo "app   predict 0    1 $(printf 'app-secret' | "$MAAS_BIN/maas-serve" --hash-key)"
		echo "ops   admin   0    1 $(printf 'ops-secret' | "$MAAS_BIN/maas-serve" --hash-key)  # the operator"
		echo "slow  predict 0.01 2 $(printf 'slow-secret' | "$MAAS_BIN/maas-serve" --hash-key)"
	} > keys
	echo '{"inputs":[{"name":"x","datatype":"FP32","shape":[1,4],"data":[0.1,0.2,0.3,0.4]}]}' > infer.json
}

teardown() {
	serve_teardown
}

infer() {
	req -X POST -H 'Content-Type: application/json' --data-binary @infer.json "$@" "$URL/v2/models/iris/infer"
}

header() {
	sed -n "s/^$1: *//Ip" headers | tr -d '\r'
}

@test "--hash-key prints the key's sha256 and refuses what is no key" {
	run -0 "$MAAS_BIN/maas-serve" --hash-key <<< 'abc'
	[ "$output" = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad ]
	[ "$output" = "$(printf abc | sha256sum | cut -d' ' -f1)" ]
	: > empty
	run -65 "$MAAS_BIN/maas-serve" --hash-key < empty
	[ "$output" = "maas-serve: cannot hash the key from '<stdin>': it is empty" ]
	run -65 "$MAAS_BIN/maas-serve" --hash-key <<< 'two words'
	[[ $output == *"byte 4 is a blank"* ]]
	run -64 "$MAAS_BIN/maas-serve" --hash-key "$IRIS" <<< 'abc'
	[[ $output == *"--hash-key reads the key on stdin"* ]]
}

@test "a bad key file is refused with its line number, a missing one with 66" {
	printf '# ok\napp predict 1 1 %s\nops root 1 1 %s\n' "$(printf a | sha256sum | cut -c1-64)" \
		"$(printf b | sha256sum | cut -c1-64)" > bad
	run -65 "$MAAS_BIN/maas-serve" --port 0 --keys bad "$IRIS"
	[ "$output" = "maas-serve: cannot read 'bad': line 3: unknown scope 'root': predict or admin" ]
	run -66 "$MAAS_BIN/maas-serve" --port 0 --keys nothere "$IRIS"
	[[ $output == "maas-serve: cannot "*"'nothere'"* ]]
}

@test "without a key: 401 with WWW-Authenticate; health and metrics stay open" {
	start_server -q --keys keys --access-log access.log "$IRIS"
	infer; [ "$code" = 401 ]
	[ "$(header WWW-Authenticate)" = 'Bearer realm="maas-serve"' ]
	grep -q '"error":"a valid API key is required' body
	infer -H 'Authorization: Bearer wrong-secret'; [ "$code" = 401 ]
	infer -H 'Authorization: Basic YXBwLXNlY3JldA=='; [ "$code" = 401 ]
	req "$URL/v2/models/iris"; [ "$code" = 401 ]
	req -X POST -H 'Content-Type: application/json' -d '{"instances":[]}' "$URL/v1/models/iris:predict"
	[ "$code" = 401 ]
	req "$URL/v2/health/live"; [ "$code" = 200 ]
	req "$URL/v2/health/ready"; [ "$code" = 200 ]
	req "$URL/metrics"; [ "$code" = 200 ]
	grep -qx 'maas_rejected_total{code="401"} 5' body
	grep -qx 'maas_rejected_total{code="429"} 0' body

	infer -H 'Authorization: Bearer app-secret'; [ "$code" = 200 ]
	grep -q '"model_name":"iris"' body
	infer -H 'authorization: bearer   app-secret  '; [ "$code" = 200 ]
	# the access log names the key, never the secret
	grep -q '"key":"app",.*"status":200' access.log
	grep -q '"key":"",.*"status":401' access.log
	run ! grep -q secret access.log
}

@test "a predict key on an admin endpoint: 403; an admin key passes the check" {
	start_server -q --keys keys "$IRIS"
	req -X POST -H 'Authorization: Bearer app-secret' "$URL/v2/repository/models/iris/load"
	[ "$code" = 403 ]
	[ "$(header WWW-Authenticate)" = 'Bearer realm="maas-serve", error="insufficient_scope"' ]
	grep -q "key 'app' may only predict; this endpoint needs an admin key" body
	req -X POST -H 'Authorization: Bearer ops-secret' "$URL/v2/repository/models/iris/load"
	[ "$code" != 401 ] && [ "$code" != 403 ]
	# an admin key may predict too
	infer -H 'Authorization: Bearer ops-secret'; [ "$code" = 200 ]
	req "$URL/metrics"
	grep -qx 'maas_rejected_total{code="403"} 1' body
}

@test "a key beyond its burst gets 429 with Retry-After; other keys are not slowed" {
	start_server -q --keys keys --access-log access.log "$IRIS"
	infer -H 'Authorization: Bearer slow-secret'; [ "$code" = 200 ]
	infer -H 'Authorization: Bearer slow-secret'; [ "$code" = 200 ]
	infer -H 'Authorization: Bearer slow-secret'; [ "$code" = 429 ]
	# one token per 100 s: the next comes in at most 100 s, rounded up
	ra=$(header Retry-After)
	[ "$ra" -ge 95 ] && [ "$ra" -le 100 ]
	grep -q "key 'slow' is over its rate limit; retry in $ra s" body
	infer -H 'Authorization: Bearer slow-secret'; [ "$code" = 429 ]
	for _ in 1 2 3 4 5; do
		infer -H 'Authorization: Bearer app-secret'; [ "$code" = 200 ]
	done
	req "$URL/metrics"
	grep -qx 'maas_rejected_total{code="429"} 2' body
	grep -q '"key":"slow",.*"status":429' access.log
}

@test "--deadline: a request that waited too long before compute gets 504" {
	start_server -q --deadline 300 "$IRIS"
	# headers now, the body a second later: the request waited 1 s before compute
	code=$( { sleep 1; cat infer.json; } | curl -s -m 10 -o body -w '%{http_code}' -X POST -T - \
		-H 'Content-Type: application/json' "$URL/v2/models/iris/infer")
	[ "$code" = 504 ]
	grep -q '"error":"the request waited more than its deadline of 300 ms before compute"' body
	code=$( { sleep 1; echo '{"instances":[{"sepalLength":5.1,"sepalWidth":3.5,"petalLength":1.4,"petalWidth":0.2}]}'; } |
		curl -s -m 10 -o body -w '%{http_code}' -X POST -T - -H 'Content-Type: application/json' \
		"$URL/v1/models/iris:predict")
	[ "$code" = 504 ]
	# a prompt request is computed
	infer; [ "$code" = 200 ]
	req "$URL/metrics"
	grep -qx 'maas_rejected_total{code="504"} 2' body
	stop_server

	# the same slow request within a long deadline is answered
	start_server -q --deadline 10000 "$IRIS"
	code=$( { sleep 1; cat infer.json; } | curl -s -m 10 -o body -w '%{http_code}' -X POST -T - \
		-H 'Content-Type: application/json' "$URL/v2/models/iris/infer")
	[ "$code" = 200 ]
	run -64 "$MAAS_BIN/maas-serve" --deadline 0 "$IRIS"
	[ "$output" = "maas-serve: bad --deadline '0': milliseconds from 1 to 3600000" ]
}

@test "listening beyond loopback takes --keys or --insecure" {
	run -64 "$MAAS_BIN/maas-serve" --listen 0.0.0.0:0 "$IRIS"
	[[ $output == "maas-serve: refusing to serve on '0.0.0.0' without --keys"*"--insecure"* ]]
	run -64 "$MAAS_BIN/maas-serve" --listen '[::]:0' "$IRIS"
	[[ $output == *"refusing to serve on '::'"* ]]
	"$MAAS_BIN/maas-serve" --listen 0.0.0.0:0 --insecure -q "$IRIS" > addr 2> serve.err 3>&- &
	SERVER_PID=$!
	for _ in $(seq 200); do
		grep -q '^listening on ' addr 2>/dev/null && break
		kill -0 "$SERVER_PID" 2>/dev/null || break
		sleep 0.05
	done
	grep -q '^listening on http://0.0.0.0:' addr
	stop_server
	"$MAAS_BIN/maas-serve" --listen 0.0.0.0:0 --keys keys -q "$IRIS" > addr 2> serve.err 3>&- &
	SERVER_PID=$!
	for _ in $(seq 200); do
		grep -q '^listening on ' addr 2>/dev/null && break
		kill -0 "$SERVER_PID" 2>/dev/null || break
		sleep 0.05
	done
	grep -q '^listening on http://0.0.0.0:' addr
}
