#!/usr/bin/env bats
# code, URL and SERVER_PID are set and read by serve-helper.bash (bats load):
# shellcheck disable=SC2154,SC2034
# serve-listen.bats - maas-serve --listen unix:PATH: HTTP over a Unix
# socket, its file (the umask, removal on stop, a stale socket replaced, a
# live one or any other file refused) and its limits.  Every wait is
# bounded; teardown stops the server.

load helper
load serve-helper

setup_file() {
	serve_bundles iris
}

setup() {
	serve_setup
	SOCK=$SCRATCH/maas.sock
}

teardown() {
	serve_teardown
}

# an infer request of one row over the socket $SOCK (or $1)
infer() {
	req --unix-socket "${1:-$SOCK}" -H 'Content-Type: application/json' \
		-d '{"inputs":[{"name":"x","datatype":"FP32","shape":[1,4],"data":[0.1,0.2,0.3,0.4]}]}' \
		http://localhost/v2/models/iris/infer
}

@test "--listen unix:PATH serves on a Unix socket without keys and removes it on SIGTERM" {
	start_server -q --listen "unix:$SOCK" "$IRIS"
	[ "$URL" = "unix:$SOCK" ]
	[ -S "$SOCK" ]
	req --unix-socket "$SOCK" http://localhost/v2/health/ready
	[ "$code" = 200 ]; [ "$(cat body)" = '{"ready":true}' ]
	infer; [ "$code" = 200 ]
	"$PY" -c "
import json
d = json.load(open('body'))
assert d['model_name'] == 'iris', d
assert [o['name'] for o in d['outputs']] == ['probabilities', 'class', 'label'], d"
	req --unix-socket "$SOCK" http://localhost/metrics
	grep -q '^maas_requests_total{model="iris",version="1",route="infer",code="200"} 1$' body
	stop_server TERM
	[ "$SERVER_STATUS" -eq 0 ]
	[ ! -e "$SOCK" ]
}

@test "a relative unix:PATH is printed as given and removed on stop" {
	start_server -q --listen unix:rel.sock "$IRIS"
	[ "$URL" = unix:rel.sock ]
	infer rel.sock; [ "$code" = 200 ]
	stop_server INT
	[ "$SERVER_STATUS" -eq 0 ]
	[ ! -e rel.sock ]
}

@test "the socket file's mode follows the umask" {
	umask 077
	start_server -q --listen "unix:$SOCK" "$IRIS"
	[ "$(stat -c %a "$SOCK")" = 700 ]
	stop_server
	umask 002
	start_server -q --listen "unix:$SOCK" "$IRIS"
	[ "$(stat -c %a "$SOCK")" = 775 ]
}

@test "--keys still applies on a Unix socket" {
	echo "app predict 0 1 $(printf app-secret | "$MAAS_BIN/maas-serve" --hash-key)" > keys
	start_server -q --listen "unix:$SOCK" --keys keys "$IRIS"
	infer; [ "$code" = 401 ]
	req --unix-socket "$SOCK" -H 'Authorization: Bearer app-secret' \
		-d '{"inputs":[{"name":"x","datatype":"FP32","shape":[1,4],"data":[0.1,0.2,0.3,0.4]}]}' \
		http://localhost/v2/models/iris/infer
	[ "$code" = 200 ]
}

@test "a stale socket is replaced; a live one is refused and keeps serving" {
	start_server -q --listen "unix:$SOCK" "$IRIS"
	stop_server KILL
	[ -S "$SOCK" ] # left behind: nothing accepts on it any more
	start_server -q --listen "unix:$SOCK" "$IRIS"
	infer; [ "$code" = 200 ]
	run -71 timeout 10 "$MAAS_BIN/maas-serve" -q --listen "unix:$SOCK" "$IRIS"
	[ "$output" = "maas-serve: cannot listen on 'unix:$SOCK': another server is listening on it" ]
	[ -S "$SOCK" ]
	infer; [ "$code" = 200 ]
	stop_server
	[ ! -e "$SOCK" ]
}

@test "a file that is not a socket is refused and left as it is" {
	echo 'precious' > "$SOCK"
	run -73 timeout 10 "$MAAS_BIN/maas-serve" -q --listen "unix:$SOCK" "$IRIS"
	[ "$output" = "maas-serve: cannot listen on 'unix:$SOCK': the file exists and is not a socket; remove it or choose another path" ]
	[ "$(cat "$SOCK")" = precious ]
	mkdir dir
	run -73 timeout 10 "$MAAS_BIN/maas-serve" -q --listen unix:dir "$IRIS"
	[[ $output == *"'unix:dir': the file exists and is not a socket"* ]]
	[ -d dir ]
	ln -s "$SOCK" link
	run -73 timeout 10 "$MAAS_BIN/maas-serve" -q --listen unix:link "$IRIS"
	[ -L link ] && [ "$(cat "$SOCK")" = precious ]
	# a directory that does not exist: the system says why
	run -71 timeout 10 "$MAAS_BIN/maas-serve" -q --listen unix:no/such/dir/s "$IRIS"
	[ "$output" = "maas-serve: cannot listen on 'unix:no/such/dir/s': No such file or directory" ]
}

@test "a socket path too long for a Unix socket address, or none, is a usage error" {
	long=$(printf 'a%.0s' {1..108})
	run -64 timeout 10 "$MAAS_BIN/maas-serve" --listen "unix:$long" "$IRIS"
	[ "$output" = "maas-serve: bad listen address 'unix:$long': the socket path is 108 bytes, a Unix socket's is at most 107" ]
	[ ! -e "$long" ]
	run -64 timeout 10 "$MAAS_BIN/maas-serve" --listen unix: "$IRIS"
	[ "$output" = "maas-serve: bad listen address 'unix:': write unix:PATH" ]
	run -64 timeout 10 "$MAAS_BIN/maas-serve" --listen "$SOCK" "$IRIS"
	[[ $output == *"write ADDR:PORT or unix:PATH"* ]]
	[ ! -e "$SOCK" ]
}
