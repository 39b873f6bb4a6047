# test/cli/serve-helper.bash - running maas-serve in the bats suites.
#
# start_server ARGS...   maas-serve --port 0 ARGS in the background (without
#                        --port 0 when ARGS has --listen); sets URL (what
#                        follows "listening on") and SERVER_PID (waits at
#                        most 10 s for the address)
# stop_server [SIG|none] signals it (default TERM), waits at most 10 s, then
#                        kills; sets SERVER_STATUS
# req ARGS...            curl with a 10 s limit: the status in $code, the
#                        body in the file body, the headers in headers
# serve_bundles NAME...  (setup_file) trains example bundles once per file
#                        into $BATS_FILE_TMPDIR: iris (species, 5 epochs),
#                        cars (Miles_per_Gallon, 3 epochs); nothing without
#                        the Vega data (each test's need_vega skips then)
# serve_setup            (setup) a scratch directory to work in; IRIS and CARS
#                        name the bundles; no server yet
# serve_teardown         (teardown) stops the server and removes the scratch,
#                        so no server outlives its test

start_server() {
	local a port=(--port 0)
	for a; do
		case $a in --listen | --listen=* | -l) port=() ;; esac
	done
	"$MAAS_BIN/maas-serve" "${port[@]}" "$@" > addr 2> serve.err 3>&- &
	SERVER_PID=$!
	for _ in $(seq 200); do
		grep -q '^listening on ' addr 2>/dev/null && break
		kill -0 "$SERVER_PID" 2>/dev/null || break
		sleep 0.05
	done
	URL=$(sed -n 's/^listening on //p' addr)
	[ -n "$URL" ] || { cat serve.err; return 1; }
}

stop_server() {
	[ -n "${SERVER_PID-}" ] || return 0
	if [ "${1-}" != none ]; then kill "-${1:-TERM}" "$SERVER_PID" 2>/dev/null || true; fi
	for _ in $(seq 200); do
		kill -0 "$SERVER_PID" 2>/dev/null || break
		sleep 0.05
	done
	kill -KILL "$SERVER_PID" 2>/dev/null || true
	SERVER_STATUS=0
	wait "$SERVER_PID" || SERVER_STATUS=$?
	SERVER_PID=
}

req() {
	code=$(curl -s -m 10 -D headers -o body -w '%{http_code}' "$@")
}

serve_bundles() {
	[ -r "$VEGA/iris.json" ] || return 0
	local b
	for b; do
		case $b in
		iris)
			"$MAAS_BIN/maas-prep" -q -t species -o "$BATS_FILE_TMPDIR/iris.safetensors" "$VEGA/iris.json"
			"$MAAS_BIN/maas-train" -q -e 5 -o "$BATS_FILE_TMPDIR/iris.maas" "$BATS_FILE_TMPDIR/iris.safetensors"
			;;
		cars)
			"$MAAS_BIN/maas-prep" -q -t Miles_per_Gallon -o "$BATS_FILE_TMPDIR/cars.safetensors" "$VEGA/cars.json"
			"$MAAS_BIN/maas-train" -q -e 3 -o "$BATS_FILE_TMPDIR/cars.maas" "$BATS_FILE_TMPDIR/cars.safetensors"
			;;
		*) echo "serve_bundles: no bundle '$b'" >&2; return 1 ;;
		esac
	done
}

serve_setup() {
	need_vega
	SCRATCH=$(mktemp -d "${BATS_TMPDIR:-/tmp}/maas-test.XXXXXX")
	cd "$SCRATCH" || return 1
	IRIS=$BATS_FILE_TMPDIR/iris.maas
	CARS=$BATS_FILE_TMPDIR/cars.maas
	SERVER_PID=
}

serve_teardown() {
	stop_server
	cd / && rm -rf "$SCRATCH"
}
