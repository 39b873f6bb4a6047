#!/usr/bin/env bash
# examples/serve-curl.sh - the prediction server seen from curl: start
# maas-serve, ask it what a client and an operator ask, feed back the real
# outcomes, retrain, hot-reload the model without failing a request, and
# stop it cleanly.
#
# Each step prints its command, then the answer, so the output reads as a
# tutorial; the curl lines work as printed while the server runs.  The
# model is a small classifier of the iris flowers in examples/data; the
# whole script takes a few seconds.  See maas-serve(1) for every endpoint.
#
# Environment: MAAS_BIN (directory of the binaries; default bin/),
# SERVE_OUT (the bundle, the prediction log and the server's output;
# default examples/out).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${MAAS_BIN:-$here/../bin}
data=$here/data
out=${SERVE_OUT:-$here/out}
mkdir -p "$out"
out=$(cd "$out" && pwd)
PATH=$bin:$PATH
cd "$out" # the commands below show short relative paths

step() { printf '\n== %s\n' "$*"; }

# say CMD ARGS...: print the command as one would type it, then run it
# and print its answer (curl prints JSON without a final newline)
say() {
	local a line='$' answer
	for a in "$@"; do
		case $a in
		'' | *[!A-Za-z0-9_./:=@%+,-]*) line+=" '${a//\'/\'\\\'\'}'" ;;
		*) line+=" $a" ;;
		esac
	done
	printf '%s\n' "$line"
	answer=$("$@") || return
	[ -z "$answer" ] || printf '%s\n' "$answer"
}

# stop: SIGTERM the server if it runs and wait for it; its exit status
# in $status.  No server outlives the script, however the script ends.
server='' status=0
stop() {
	[ -n "$server" ] || return 0
	kill -TERM "$server" 2>/dev/null || true
	status=0
	wait "$server" || status=$?
	server=
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

step "1. train version 1: a deliberately short run (3 epochs), to improve later"
say maas-prep -q --target species "$data/iris.json" -o iris.safetensors
say maas-train -q -e 3 --name iris iris.safetensors -o iris.maas --log /dev/null

step "2. start the server on a free port, logging the predictions for feedback"
# --port 0: the system picks the port, and the server's first line on
# standard output says which, once every model is loaded
rm -f server.out predictions-log.jsonl
echo "\$ maas-serve --port 0 --log-predictions predictions-log.jsonl iris.maas &"
maas-serve --port 0 --log-predictions predictions-log.jsonl iris.maas >server.out 2>server.err &
server=$!
url=
for _ in $(seq 100); do
	url=$(sed -n 's/^listening on //p' server.out)
	if [ -n "$url" ] || ! kill -0 "$server" 2>/dev/null; then break; fi
	sleep 0.1
done
if [ -z "$url" ]; then
	cat server.err >&2
	stop
	echo "serve-curl: maas-serve did not start (exit $status)" >&2
	exit $((status ? status : 1))
fi
cat server.out

step "3. health: live while the process runs, ready once the models are loaded"
say curl -s "$url/v2/health/live"
say curl -s "$url/v2/health/ready"

step "4. what the model takes and gives"
# Open Inference Protocol metadata: the feature tensor and the outputs
say curl -s "$url/v2/models/iris"
# the raw fields the records API takes, and an example record
say curl -s "$url/v1/models/iris/signature"

step "5. Open Inference Protocol v2 (KServe, Triton): prepared features in, tensors out"
# The features are the prepared ones (standardised), as in the dataset's
# x tensors; two rows, flat, asking for the label only.
say curl -s "$url/v2/models/iris/infer" -d '{"id": "r1",
  "inputs": [{"name": "x", "datatype": "FP32", "shape": [2, 4],
              "data": [-0.9, 1.0, -1.3, -1.3, 1.0, 0.1, 1.0, 1.2]}],
  "outputs": [{"name": "label"}]}'

step "6. the records API: raw records in, prepared by the bundle's own spec"
# -i shows the headers: X-Request-Id names the prediction for feedback
say curl -s -i "$url/v1/models/iris:predict" -d '{"instances": [
  {"sepalLength": 6.1, "sepalWidth": 2.9, "petalLength": 4.7, "petalWidth": 1.4},
  {"sepalLength": 6.3, "sepalWidth": 2.8, "petalLength": 5.1, "petalWidth": 1.5}]}' |
	tee predict.http
id=$(tr -d '\r' <predict.http | sed -n 's/^X-Request-Id: //Ip')
echo "the request id is $id; its instances are $id/0 and $id/1"

step "7. the same API, CSV with a header row"
printf 'sepalLength,sepalWidth,petalLength,petalWidth\n5.1,3.5,1.4,0.2\n6.5,3.2,5.1,2.0\n' >flowers.csv
say cat flowers.csv
say curl -s -H 'Content-Type: text/csv' --data-binary @flowers.csv "$url/v1/models/iris:predict"

step "8. feedback: what the flowers of step 6 really were"
# The log gets each labelled row, under the target's name: training data
say curl -s "$url/v1/models/iris:feedback" -d "[{\"id\": \"$id/0\", \"label\": \"versicolor\"},
  {\"id\": \"$id/1\", \"label\": \"virginica\"}]"
echo "\$ grep '\"feedback\":true' predictions-log.jsonl"
grep '"feedback":true' predictions-log.jsonl

step "9. metrics for Prometheus, a few of them"
# everything: curl -s $url/metrics
echo "\$ curl -s $url/metrics | grep -E '^maas_(requests_total.*route=\"(infer|predict|feedback)\"|predictions_logged|feedback_total|live_accuracy|drift_psi_max|model_loads)'"
curl -s "$url/metrics" |
	grep -E '^maas_(requests_total.*route="(infer|predict|feedback)"|predictions_logged|feedback_total|live_accuracy|drift_psi_max|model_loads)'

step "10. retrain into the same bundle path: the labelled rows join the data"
# Drop the log's own fields and what remains are the iris columns; maas-train
# builds the new bundle beside the old one and swaps it in at once.
echo "\$ grep '\"feedback\":true' predictions-log.jsonl > labelled.jsonl"
grep '"feedback":true' predictions-log.jsonl >labelled.jsonl
say maas-prep -q --target species --drop time,id,model,version,prediction,probability,feedback \
	"$data/iris.json" labelled.jsonl -o iris.safetensors
say maas-train -q -e 40 -b 16 --name iris iris.safetensors -o iris.maas --log /dev/null

step "11. hot reload with SIGHUP: the new bundle is loaded, self-tested, swapped in"
# Requests in flight finish on the old weights; none fails.  A bundle that
# fails to load is refused and the old one keeps serving.  The version
# stays 1: versions are what the command line names.
loads() {
	curl -s "$url/metrics" | sed -n 's/^maas_model_loads_total{model="iris",version="1",result="ok"} //p'
}
before=$(loads)
say kill -HUP "$server"
for _ in $(seq 100); do
	[ "$(loads)" -gt "$before" ] && break
	sleep 0.1
done
echo "maas_model_loads_total{result=\"ok\"}: $before before, $(loads) now"
say curl -s "$url/v1/models/iris:predict" -d '{"instances": [
  {"sepalLength": 6.1, "sepalWidth": 2.9, "petalLength": 4.7, "petalWidth": 1.4}]}'

step "12. or over HTTP, as a deployment tool would: the repository extension"
say curl -s -X POST "$url/v2/repository/models/iris/load"
say curl -s -X POST "$url/v2/repository/index"
say curl -s "$url/v2/models/iris/ready"

step "13. stop: SIGTERM turns the server not ready, lets requests finish, exits 0"
echo "\$ kill -TERM $server"
stop
echo "maas-serve exited with status $status"
exit "$status"
