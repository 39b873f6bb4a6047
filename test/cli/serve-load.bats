#!/usr/bin/env bats
# code and SERVER_PID are set and read by serve-helper.bash (bats load):
# shellcheck disable=SC2154,SC2034
# serve-load.bats - how maas-serve loads a bundle: the weights mapped from
# weights.safetensors, not copied (checked in /proc, not by timing), the
# digests still refusing a bundle that does not match, a served model
# keeping its map when its bundle is replaced until a reload, and the -v
# account of the load time.  Every wait is bounded; teardown stops the
# server.

load helper
load serve-helper

setup_file() {
	[ -r "$VEGA/iris.json" ] || return 0
	serve_bundles iris  # iris.safetensors, and iris.maas
	cd "$BATS_FILE_TMPDIR" || return 1
	# 4.2 MB of weights (and a second model that answers differently)
	"$MAAS_BIN/maas-train" -q -e 1 -a dense:1024,relu,dense:1024,relu -o wide.maas iris.safetensors
	"$MAAS_BIN/maas-train" -q -e 3 -a dense:32,relu -o small.maas iris.safetensors
}

setup() {
	serve_setup
	WIDE=$BATS_FILE_TMPDIR/wide.maas
	SMALL=$BATS_FILE_TMPDIR/small.maas
	"$PY" -c 'import json; print(json.dumps({"instances": [json.loads(open("'"$WIDE"'/examples.jsonl").readline())["input"]]}))' > rec.json
}

teardown() {
	serve_teardown
}

# setosa: the probability of setosa the server gives for rec.json now
setosa() {
	req "$URL/v1/models/iris:predict" --data-binary @rec.json
	[ "$code" = 200 ] || { cat body; return 1; }
	"$PY" -c 'import json; print(json.load(open("body"))["predictions"][0]["probabilities"]["setosa"])'
}

# weights_map PATTERN: the server's mappings of files matching PATTERN (a
# grep -E pattern on /proc/PID/smaps' header lines), each as "SIZE_KB ANON_KB PATH"
weights_map() {
	awk -v pat="$1" '
		/^[0-9a-f]+-[0-9a-f]+ / { if (path != "") print size, anon, path
			path = ""; if ($0 ~ pat) { path = $6; for (i = 7; i <= NF; i++) path = path " " $i } }
		/^Size:/ { size = $2 }
		/^Anonymous:/ { anon = $2 }
		END { if (path != "") print size, anon, path }' "/proc/$SERVER_PID/smaps"
}

@test "the weights are mapped from weights.safetensors, not copied, and -v says where the load time went" {
	start_server -v "$WIDE"
	# loaded 'iris' version 1 from '...' in 12.3 ms: 4.2 MB of weights mapped in 0.05 ms,
	# 8 examples replayed in 1.0 ms, 4.2 MB digested in 3.1 ms meanwhile
	grep -E "^maas-serve: loaded 'iris' version 1 from '$WIDE' in [0-9.]+ ms: 4\.2 MB of weights mapped in [0-9.]+ ms, 8 examples replayed in [0-9.]+ ms, 4\.2 MB digested in [0-9.]+ ms meanwhile$" serve.err
	grep -E '^maas-serve: ready [0-9.]+ ms after start: models loaded by [0-9.]+ ms, the server started in [0-9.]+ ms$' serve.err
	# one read-only map of the whole file, not one page of it copied
	real=$(realpath "$WIDE/weights.safetensors")
	weights_map "weights\\.safetensors" > maps
	cat maps
	[ "$(wc -l < maps)" -eq 1 ]
	read -r size anon path < maps
	[ "$path" = "$real" ]
	[ "$anon" -eq 0 ]
	[ "$((size * 1024))" -ge "$(stat -c %s "$real")" ]
	# and it answers as its examples say
	[ "$(setosa)" = "$("$PY" -c 'import json; print(json.loads(open("'"$WIDE"'/examples.jsonl").readline())["output"]["probabilities"]["setosa"])')" ] ||
		"$PY" -c 'import json, sys; a = float(sys.argv[1]); b = json.loads(open("'"$WIDE"'/examples.jsonl").readline())["output"]["probabilities"]["setosa"]; assert abs(a - b) < 1e-4, (a, b)' "$(setosa)"
}

@test "a tar bundle is unpacked, its weights mapped, and the unpacked tree removed at once" {
	tar -C "$WIDE" -cf wide.tar .
	mkdir tmp
	TMPDIR=$SCRATCH/tmp start_server -v wide.tar
	grep -E "^maas-serve: loaded 'iris' version 1 from 'wide.tar' in [0-9.]+ ms: tar unpacked in [0-9.]+ ms, 4\.2 MB of weights mapped in " serve.err
	# the map outlives the unpacked file: nothing is left in TMPDIR
	[ -z "$(ls -A tmp)" ]
	weights_map "weights\\.safetensors" > maps
	cat maps
	[ "$(wc -l < maps)" -eq 1 ]
	grep -q "/weights.safetensors (deleted)$" maps
	setosa > /dev/null
}

@test "a bundle whose weights do not match their digest is refused, even when its self-test fails too" {
	cp -r "$WIDE" bad.maas
	size=$(stat -c %s bad.maas/weights.safetensors)
	# the last weight becomes NaN: the self-test would fail, but the digest says why
	printf '\377\377\377\177' | dd of=bad.maas/weights.safetensors bs=1 seek=$((size - 4)) conv=notrunc status=none
	run -65 "$MAAS_BIN/maas-serve" --port 0 bad.maas
	[[ $output == *"bundle 'bad.maas': 'weights.safetensors' does not match its digest (expected "* ]]
	[[ $output != *self-test* ]]
	# one flipped bit in the middle, and the same in batch mode and as a tar
	cp "$WIDE/weights.safetensors" bad.maas/
	"$PY" -c 'import sys; f = open(sys.argv[1], "r+b"); f.seek(int(sys.argv[2]) // 2); b = f.read(1); f.seek(-1, 1); f.write(bytes([b[0] ^ 1]))' \
		bad.maas/weights.safetensors "$size"
	run -65 "$MAAS_BIN/maas-serve" --port 0 bad.maas
	[[ $output == *"'weights.safetensors' does not match its digest"* ]]
	run -65 "$MAAS_BIN/maas-serve" --stdin bad.maas < /dev/null
	[[ $output == *"'weights.safetensors' does not match its digest"* ]]
	tar -C bad.maas -cf bad.tar .
	run -65 "$MAAS_BIN/maas-serve" --port 0 bad.tar
	[[ $output == *"bundle 'bad.tar': 'weights.safetensors' does not match its digest"* ]]
}

@test "a served model keeps its map when its bundle is replaced by rename, until a reload frees it" {
	cp -r "$WIDE" cur.maas
	start_server -q cur.maas
	p1=$(setosa)
	# replaced as maas's writers do: the new tree renamed into place, the old one removed
	cp -r "$SMALL" new.maas
	mv cur.maas old.maas && mv new.maas cur.maas && rm -rf old.maas
	[ "$(setosa)" = "$p1" ]
	weights_map "old\\.maas/weights\\.safetensors" | grep -q "(deleted)$"
	kill -HUP "$SERVER_PID"
	for _ in $(seq 100); do [ "$(setosa)" != "$p1" ] && break; sleep 0.05; done
	[ "$(setosa)" != "$p1" ]
	# the old model's map goes with its last reference
	for _ in $(seq 100); do [ -z "$(weights_map "old\\.maas")" ] && break; sleep 0.05; done
	[ -z "$(weights_map "old\\.maas")" ]
	weights_map "/cur\\.maas/weights\\.safetensors$" | grep -q .
	stop_server TERM
	[ "$SERVER_STATUS" -eq 0 ]
}
