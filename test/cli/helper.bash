# test/cli/helper.bash - shared set-up for the bats suites.
#
# MAAS_BIN names the directory of the binaries under test (tools/run-tests
# sets it; default bin/).  Each test runs in its own scratch directory.
# Real data comes from Debian packages; tests that need a package skip
# with a message when it is missing.

bats_require_minimum_version 1.5.0

TOP=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
MAAS_BIN=${MAAS_BIN:-$TOP/bin}
PATH=$MAAS_BIN:$PATH
export PATH TOP MAAS_BIN

VEGA=/usr/lib/python3/dist-packages/vega_datasets/_data
FMNIST=/usr/share/datasets/fashion-mnist
# Debian's python3 (with numpy); the first python3 on PATH may be another build
PY=/usr/bin/python3

setup() {
	SCRATCH=$(mktemp -d "${BATS_TMPDIR:-/tmp}/maas-test.XXXXXX")
	cd "$SCRATCH" || return 1
}

teardown() {
	cd / && rm -rf "$SCRATCH"
}

need_vega() {
	[ -r "$VEGA/iris.json" ] || skip "python3-vega-datasets is not installed"
}

need_fmnist() {
	[ -r "$FMNIST/train-images-idx3-ubyte.gz" ] || skip "dataset-fashion-mnist is not installed"
}

need_numpy() {
	"$PY" -c 'import numpy' 2>/dev/null || skip "python3-numpy is not installed"
}

# st_json FILE: the independent numpy reader's JSON description of a safetensors file
st_json() {
	"$PY" "$TOP/test/tools/st_read.py" "$@"
}

# no_temporaries DIR: nothing half-written was left behind
no_temporaries() {
	local left
	left=$(find "${1:-.}" -name '*.tmp-*' 2>/dev/null)
	[ -z "$left" ] || { echo "temporary files left: $left"; return 1; }
}
