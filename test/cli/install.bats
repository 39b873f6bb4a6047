#!/usr/bin/env bats
# install.bats - make install puts the tools, manual pages and completions
# where bash, zsh, fish and man look for them, under PREFIX and DESTDIR.

load helper

@test "make install DESTDIR=... PREFIX=/usr installs everything, uninstall removes it" {
	run -0 make -C "$TOP" --no-print-directory install DESTDIR="$SCRATCH/root" PREFIX=/usr
	r=$SCRATCH/root/usr
	for t in "$TOP"/cmd/maas-*.c; do
		t=$(basename "$t" .c)
		[ -x "$r/bin/$t" ]
		[ -f "$r/share/man/man1/$t.1" ]
		[ -f "$r/share/bash-completion/completions/$t" ]
		[ -f "$r/share/zsh/vendor-completions/_$t" ]
		[ -f "$r/share/fish/vendor_completions.d/$t.fish" ]
		run -0 "$r/bin/$t" --version
	done
	[ -f "$r/share/man/man7/maas.7" ]
	[ -f "$r/share/man/man5/maas-bundle.5" ]
	run -0 mandoc -Tutf8 "$r/share/man/man1/maas-prep.1"
	[[ $output == *"maas-prep"* ]]
	run -0 make -C "$TOP" --no-print-directory uninstall DESTDIR="$SCRATCH/root" PREFIX=/usr
	left=$(find "$SCRATCH/root" -type f)
	[ -z "$left" ] || { echo "left behind: $left"; false; }
}
