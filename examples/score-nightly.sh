#!/usr/bin/env bash
# examples/score-nightly.sh - the scoring step of a nightly job: the day's
# new records in, one JSON line of predictions per record out, prepared and
# predicted exactly as the server would, with no server.
#
# The predictions file is replaced at once (written beside it, then
# renamed), so its readers never see half of it, and a run that fails
# leaves last night's file as it was.  A lock keeps two runs from
# overlapping: the second gives up at once.  Run it from cron:
#
#   30 2 * * *  SCORE_BUNDLE=/srv/models/weather.maas SCORE_INPUT=/srv/incoming/today.csv SCORE_OUTPUT=/srv/scores/predictions.jsonl /opt/maas/examples/score-nightly.sh
#
# Environment (the defaults score the example data with make demo's model):
#   MAAS_BIN       the directory of the maas tools (bin/)
#   SCORE_BUNDLE   the model bundle (examples/out/weather.maas)
#   SCORE_INPUT    the records (examples/data/seattle-weather.csv)
#   SCORE_FORMAT   csv, tsv or jsonl (default: from SCORE_INPUT's extension;
#                  jsonl unless it ends in .csv or .tsv)
#   SCORE_OUTPUT   the predictions (examples/out/predictions.jsonl); the lock
#                  is SCORE_OUTPUT.lock
#   SCORE_MAX_BAD  the fraction of records that may fail and the night still
#                  counts (0.01); a bad record's line says why it failed
#
# Exit status (maas(7) and maas-serve(1) say what each means):
#   0   the predictions are published (bad records included, within the limit)
#   1   the check failed: more bad records than SCORE_MAX_BAD, or none at all;
#       last night's predictions stay, the first error lines say why
#   66  the bundle or the input cannot be opened
#   73  the output's directory or lock cannot be created
#   75  another run holds the lock (EX_TEMPFAIL): nothing was done
#   otherwise maas-serve's own status, last night's predictions kept:
#   65 a malformed bundle or CSV header, 78 a bundle that fails its
#   self-test, 74 reading or writing failed midway
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
PATH=${MAAS_BIN:-$here/../bin}:$PATH
bundle=${SCORE_BUNDLE:-$here/out/weather.maas}
input=${SCORE_INPUT:-$here/data/seattle-weather.csv}
output=${SCORE_OUTPUT:-$here/out/predictions.jsonl}
max_bad=${SCORE_MAX_BAD:-0.01}
case $input in
*.csv) format=${SCORE_FORMAT:-csv} ;;
*.tsv) format=${SCORE_FORMAT:-tsv} ;;
*) format=${SCORE_FORMAT:-jsonl} ;;
esac

log() { printf 'score-nightly: %s\n' "$*" >&2; }

if [ ! -e "$bundle" ]; then
	if [ -n "${SCORE_BUNDLE-}" ]; then log "no bundle '$bundle'"; else log "no bundle '$bundle' (make demo makes it)"; fi
	exit 66
fi
if [ ! -r "$input" ]; then
	log "cannot read the records '$input'"
	exit 66
fi
# one run at a time: hold the lock on fd 9 until the script ends
if ! mkdir -p "$(dirname "$output")" || ! { exec 9>>"$output.lock"; } 2>/dev/null; then
	log "cannot create '$output.lock'"
	exit 73
fi
if ! flock -n 9; then
	log "another run holds '$output.lock'; not scoring"
	exit 75
fi

# score into a temporary file beside the output (the same file system, so
# the rename below is atomic), removed however the script ends
tmp=$output.tmp-$$
trap 'rm -f "$tmp"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
status=0
maas-serve -q --stdin "$bundle" --format "$format" <"$input" >"$tmp" || status=$?
if [ "$status" -ne 0 ]; then
	log "maas-serve failed (exit $status); '$output' stays as it was"
	exit "$status"
fi

# every record has a line; a bad one is {"line":N,"error":"..."}
records=$(wc -l <"$tmp")
bad=$(grep -c '^{"line":[0-9]*,"error":' "$tmp" || true)
if [ "$records" -eq 0 ]; then
	log "no records in '$input'; '$output' stays as it was"
	exit 1
fi
if awk -v bad="$bad" -v n="$records" -v max="$max_bad" 'BEGIN { exit !(bad > max * n) }'; then
	log "$bad of $records records are bad (more than $max_bad); '$output' stays as it was; the first:"
	grep -m 5 '^{"line":[0-9]*,"error":' "$tmp" >&2
	exit 1
fi

mv -f "$tmp" "$output"
echo "score-nightly: $records records scored into '$output' ($bad bad)"
