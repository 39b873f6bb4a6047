#!/usr/bin/env bats
# code and SERVER_PID are set and read by serve-helper.bash (bats load):
# shellcheck disable=SC2154,SC2034
# serve-page.bats - maas-serve's debug page (GET /) and the signatures its
# forms are built from (GET /v1/models/{m}/signature); a headless Chromium
# (Debian package chromium) loads the page, which fills the form with the
# model's example and sends it, and the DOM dump shows the answer.  Every
# wait is bounded; teardown stops the server.

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

# dom URL: headless Chromium's DOM of the page after its scripts ran
dom() {
	local profile
	profile=$(mktemp -d "${BATS_TMPDIR:-/tmp}/maas-chromium.XXXXXX")
	timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
		--disable-component-update --disable-sync --no-first-run --user-data-dir="$profile" \
		--virtual-time-budget=5000 --dump-dom "$1" 2> chromium.err
	local rc=$?
	rm -rf "$profile"
	return $rc
}

@test "GET / is one self-contained HTML page" {
	start_server -q "$IRIS"
	req "$URL/"
	[ "$code" = 200 ]
	grep -qi '^content-type: text/html; charset=utf-8' headers
	grep -q '<!DOCTYPE html>' body
	grep -q "<small>$("$MAAS_BIN/maas-serve" --version | awk '{print $NF}')</small>" body
	# no outside assets: no external script, style sheet, image or URL
	run ! grep -Eq '<link|src=|https?://|@import' body
	req -X POST "$URL/"
	[ "$code" = 405 ]
}

@test "signatures list the raw fields with their types, categories and an example" {
	start_server -q "$IRIS" "$CARS"
	req "$URL/v1/models"
	[ "$code" = 200 ]
	[ "$(cat body)" = '{"models":[{"name":"iris","version":"1"},{"name":"cars","version":"1"}]}' ]
	req "$URL/v1/models/iris/signature"
	[ "$code" = 200 ]
	"$PY" -c '
import json; d = json.load(open("body"))
assert d["name"] == "iris" and d["version"] == "1" and d["task"] == "classification" and d["window"] == 0, d
assert d["labels"] == ["setosa", "versicolor", "virginica"], d
assert d["fields"] == [{"name": n, "type": "number"} for n in ["sepalLength", "sepalWidth", "petalLength", "petalWidth"]], d
assert sorted(d["example"]) == sorted(f["name"] for f in d["fields"]), d
assert 4 < d["example"]["sepalLength"] < 8, d'
	req "$URL/v1/models/cars/versions/1/signature"
	[ "$code" = 200 ]
	"$PY" -c '
import json; d = json.load(open("body"))
f = {x["name"]: x for x in d["fields"]}
assert d["task"] == "regression" and "labels" not in d, d
assert f["Origin"] == {"name": "Origin", "type": "categorical", "categories": ["USA", "Japan", "Europe"]}, f
assert f["Year"] == {"name": "Year", "type": "date"}, f
assert f["Cylinders"]["type"] == "integer" and f["Horsepower"]["type"] == "integer", f
assert "Name" not in f and "Miles_per_Gallon" not in f, f
e = d["example"]
assert e["Origin"] == "USA" and e["Year"].startswith("197") and isinstance(e["Cylinders"], int), e'
	# the example is accepted by the records API as it is
	"$PY" -c 'import json; print(json.dumps({"instances": [json.load(open("body"))["example"]]}))' > inst.json
	req "$URL/v1/models/cars:predict" --data-binary @inst.json
	[ "$code" = 200 ]
	req "$URL/v1/models/nope/signature"
	[ "$code" = 404 ]
	req -X POST "$URL/v1/models/iris/signature"
	[ "$code" = 405 ]
}

@test "headless Chromium: the page fills the form, predicts through the records API and shows the answer" {
	command -v chromium > /dev/null || skip "chromium is not installed"
	start_server -q --access-log access.log "$IRIS" "$CARS"
	# what the records API says for each model's example
	for m in iris cars; do
		curl -s -m 10 "$URL/v1/models/$m/signature" \
			| "$PY" -c 'import json, sys; print(json.dumps({"instances": [json.load(sys.stdin)["example"]]}))' > "$m.json"
		curl -s -m 10 --data-binary @"$m.json" "$URL/v1/models/$m:predict" > "$m.want"
	done

	dom "$URL/?model=iris&autofill=1" > iris.html || { cat chromium.err; false; }
	grep -q '<div id="result" data-state="ok"' iris.html || { grep -o '<div id="result".*' iris.html; false; }
	"$PY" - iris.html iris.want <<'EOF'
import html, json, re, sys
dom, want = open(sys.argv[1]).read(), json.load(open(sys.argv[2]))["predictions"][0]
label = re.search(r'<strong id="label">([^<]*)</strong>', dom).group(1)
assert html.unescape(label) == want["label"], (label, want)
rows = re.findall(r'<tr><td>([^<]*)</td><td>([0-9.]+)</td>', dom)
assert [r[0] for r in rows] == ["setosa", "versicolor", "virginica"], rows
for name, p in rows:
    assert abs(float(p) - want["probabilities"][name]) < 1e-4, (name, p, want)
# the form holds the example it sent
assert re.search(r'<select id="model"[^>]*>.*<option value="iris">iris \(version 1\)</option>', dom), dom
EOF

	dom "$URL/?model=cars&autofill=1" > cars.html || { cat chromium.err; false; }
	"$PY" - cars.html cars.want <<'EOF'
import json, re, sys
dom, want = open(sys.argv[1]).read(), json.load(open(sys.argv[2]))["predictions"][0]
assert '<div id="result" data-state="ok"' in dom, dom[-2000:]
value = float(re.search(r'<strong id="value">([^<]*)</strong>', dom).group(1))
assert abs(value - want["value"]) < 1e-4 * max(1, abs(want["value"])), (value, want)
# a select with the categories, a date input, integer steps
assert re.search(r'<select id="f-Origin"[^>]*><option value="">\(missing\)</option><option value="USA">USA</option>'
                 r'<option value="Japan">Japan</option><option value="Europe">Europe</option></select>', dom), dom
assert re.search(r'<input id="f-Year" type="date"', dom), dom
assert re.search(r'<input id="f-Cylinders" type="number" step="1"', dom), dom
EOF
	# the predictions went through the records API, from the page
	grep '"path":"/v1/models/iris/versions/1:predict"' access.log | grep -q '"status":200'
	grep '"path":"/v1/models/cars/versions/1:predict"' access.log | grep -q '"status":200'
}

@test "headless Chromium: an unknown model in the query shows the server's error" {
	command -v chromium > /dev/null || skip "chromium is not installed"
	start_server -q "$IRIS"
	# an unknown model picked by the query: the page says so
	dom "$URL/?model=nope&autofill=1" > nope.html || { cat chromium.err; false; }
	grep -q '<div id="result" data-state="error" class="error"><span>error: model .nope. is not served</span>' nope.html \
		|| { grep -o '<div id="result".*' nope.html; false; }
}
