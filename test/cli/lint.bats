#!/usr/bin/env bats
# lint.bats - the manual pages and the shell scripts pass their linters.

load helper

@test "every man page is mdoc and silent under mandoc -Tlint -W warning" {
	command -v mandoc >/dev/null || skip "mandoc is not installed"
	pages=("$TOP"/man/man*/*.[1-9])
	[ -e "${pages[0]}" ]
	# an Xr to a page that is not installed on this machine is not a fault of ours
	run bash -c 'mandoc -Tlint -W warning "$@" 2>&1 | grep -v "Xr .* not found\|referenced manual not found"' _ "${pages[@]}"
	[ -z "$output" ] || { echo "$output"; false; }
	for p in "${pages[@]}"; do
		grep -q '^\.Dd ' "$p" || { echo "$p is not mdoc"; false; }
	done
}

@test "every shell script passes shellcheck" {
	command -v shellcheck >/dev/null || skip "shellcheck is not installed"
	cd "$TOP"
	mapfile -t scripts < <(
		{
			printf '%s\n' .ci/run tools/* examples/*.sh bench/* test/cli/*.bash
		} | while read -r f; do
			[ -f "$f" ] && head -n 1 "$f" | grep -qE '^#!.*(ba)?sh' && echo "$f"
		done
	)
	[ "${#scripts[@]}" -gt 3 ]
	run shellcheck -x "${scripts[@]}"
	[ "$status" -eq 0 ] || { echo "$output"; false; }
	run shellcheck -s bash test/cli/*.bats
	[ "$status" -eq 0 ] || { echo "$output"; false; }
}
