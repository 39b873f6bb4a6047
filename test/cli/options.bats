#!/usr/bin/env bats
# options.bats - each tool's options, usage text, man page and bash, zsh and
# fish completions list the same flags.  The option table in cmd/ is the
# source: `--dump-options` prints it, tools/gen-completions writes the
# completions from it, and the man page is compared with it here.

load helper

tools() {
	local b
	for b in "$MAAS_BIN"/maas-*; do
		[ -x "$b" ] && echo "${b##*/}"
	done
}

@test "there are tools to check" {
	[ -n "$(tools)" ]
}

@test "completions are what tools/gen-completions makes from the option tables" {
	"$TOP/tools/gen-completions" "$MAAS_BIN" "$SCRATCH/gen"
	for t in $(tools); do
		diff -u "$TOP/completions/bash/$t" "$SCRATCH/gen/bash/$t"
		diff -u "$TOP/completions/zsh/_$t" "$SCRATCH/gen/zsh/_$t"
		diff -u "$TOP/completions/fish/$t.fish" "$SCRATCH/gen/fish/$t.fish"
	done
}

@test "completions load in bash and fish and zsh parses them" {
	for t in $(tools); do
		bash -n "$TOP/completions/bash/$t"
		run bash -c "source '$TOP/completions/bash/$t' && complete -p $t"
		[ "$status" -eq 0 ]
		if command -v zsh >/dev/null; then zsh -n "$TOP/completions/zsh/_$t"; fi
		if command -v fish >/dev/null; then fish -n "$TOP/completions/fish/$t.fish"; fi
	done
}

@test "the man page documents exactly the options of the table" {
	for t in $(tools); do
		page="$TOP/man/man1/$t.1"
		[ -f "$page" ]
		want=$("$MAAS_BIN/$t" --dump-options | cut -f1 | sort -u)
		# long options in the page: .Fl \-name (mdoc), in any line
		have=$(grep -o 'Fl \\-[a-z0-9][a-z0-9-]*' "$page" | sed 's/^Fl \\-/--/' | sort -u)
		missing=$(comm -23 <(echo "$want") <(echo "$have"))
		extra=$(comm -13 <(echo "$want") <(echo "$have"))
		[ -z "$missing" ] || { echo "$t: not in $page: $missing"; false; }
		[ -z "$extra" ] || { echo "$t: in $page but not an option: $extra"; false; }
	done
}

@test "the usage text lists every option" {
	for t in $(tools); do
		help=$("$MAAS_BIN/$t" --help)
		while IFS=$'\t' read -r long short _; do
			grep -q -- "$long" <<<"$help" || { echo "$t --help lacks $long"; false; }
			if [ "$short" != - ]; then grep -q -- "$short, $long" <<<"$help" || { echo "$t --help lacks $short"; false; }; fi
		done < <("$MAAS_BIN/$t" --dump-options)
	done
}

@test "every short option in the man page is the tool's" {
	for t in $(tools); do
		page="$TOP/man/man1/$t.1"
		while read -r s; do
			"$MAAS_BIN/$t" --dump-options | cut -f2 | grep -qx -- "-$s" || { echo "$t: -$s in the page only"; false; }
		done < <(grep -o '^\.It Fl [a-zA-Z] ' "$page" | awk '{print $3}')
	done
}

@test "unknown options are usage errors (exit 64) naming the option" {
	for t in $(tools); do
		run -64 "$MAAS_BIN/$t" --no-such-option
		[[ $output == *"unknown option '--no-such-option'"* ]]
	done
}

@test "bash completion completes long options and their values" {
	for t in $(tools); do
		run bash -c "source '$TOP/completions/bash/$t'
			COMP_WORDS=($t --hel); COMP_CWORD=1; _${t//-/_}; printf '%s\n' \"\${COMPREPLY[@]}\""
		[ "$output" = "--help" ]
	done
	run bash -c "source '$TOP/completions/bash/maas-prep'
		COMP_WORDS=(maas-prep --task cl); COMP_CWORD=2; _maas_prep; printf '%s\n' \"\${COMPREPLY[@]}\""
	[ "$output" = "classification" ]
}
