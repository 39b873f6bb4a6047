#!/usr/bin/env bash
# examples/nightly-prep.sh - the data step of a nightly retraining job.
#
#   nightly-prep.sh INCOMING_DIR OUT_DIR
#
# Collects every CSV file in INCOMING_DIR (say, one a day, dropped there by
# an export), stops the job when the data is bad (exit 1, the report says
# why), and otherwise prepares a fresh dataset, keeping yesterday's until
# the new one is complete.  Run it from cron:
#
#   15 2 * * *  /opt/maas/examples/nightly-prep.sh /srv/incoming /srv/datasets || mail -s 'bad data' ops
#
# The rules are examples: tune them to the data.
set -eu
incoming=${1:?usage: nightly-prep.sh INCOMING_DIR OUT_DIR}
out=${2:?usage: nightly-prep.sh INCOMING_DIR OUT_DIR}
mkdir -p "$out"

shopt -s nullglob
files=("$incoming"/*.csv)
if [ ${#files[@]} -eq 0 ]; then
	echo "nightly-prep: no CSV files in '$incoming'" >&2
	exit 66
fi

# one pass: check the rules, write the report, and only if every rule
# passes, write the dataset (atomically: readers never see half a file)
maas-prep -q --target weather \
	--fail-on 'rows<365' --fail-on 'missing>0.05' --fail-on 'duplicates>0.01' \
	--fail-on 'imbalance>100' \
	--report "$out/report.json" --save-spec "$out/prep.json" \
	-o "$out/weather.safetensors" "${files[@]}"
echo "nightly-prep: prepared $out/weather.safetensors from ${#files[@]} files"
