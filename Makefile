# maas - one build for the library, the tools, the tests and the demo.
#
#   make                 lib/libmaas.a and bin/maas-*
#   make check           every test (installs missing Debian packages first)
#   make check SANITIZE=1  the same under AddressSanitizer + UBSan (in build-san/)
#   make demo            the main job, end to end, on example data
#   make install PREFIX=/usr/local DESTDIR=
#
# Dependencies come from pkg-config; tools/deps installs the Debian packages.

PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
DATADIR ?= $(PREFIX)/share

CC      ?= cc
PKGS    := jansson libarchive libcrypto zlib libmicrohttpd
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null) $(shell pkg-config --cflags openblas 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CFLAGS  ?= -O2 -g
WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
ifeq ($(CI),true)
WARN    += -Werror
endif
ifdef WERROR
WARN    += -Werror
endif

ifdef SANITIZE
O       := build-san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
O       := build
SANFLAGS :=
endif
BIN     := $(if $(SANITIZE),$(O)/bin,bin)

ALL_CFLAGS  = -std=c11 -D_GNU_SOURCE -Ilib $(WARN) $(CFLAGS) $(SANFLAGS) $(PKG_CFLAGS) -MMD -MP
ALL_LDFLAGS = $(LDFLAGS) $(SANFLAGS)
LIBS        = $(PKG_LIBS) -lm -lpthread

LIB_SRC := $(sort $(wildcard lib/*/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(O)/%.o)
LIBMAAS := $(if $(SANITIZE),$(O)/lib/libmaas.a,lib/libmaas.a)

CMD_SRC := $(sort $(wildcard cmd/maas-*.c))
TOOLS   := $(CMD_SRC:cmd/%.c=$(BIN)/%)

UNIT_SRC := $(sort $(wildcard test/unit/test_*.c))
UNITS    := $(UNIT_SRC:test/unit/%.c=$(O)/test/%)

FUZZ_SRC := $(sort $(wildcard fuzz/fuzz_*.c))

.PHONY: all deps check check-unit check-cli check-lint demo install uninstall clean fuzz bench
.SUFFIXES:
.SECONDARY:

all: $(TOOLS)

$(O)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIBMAAS): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(BIN)/%: $(O)/cmd/%.o $(LIBMAAS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIBMAAS) $(LIBS)

$(O)/test/%: $(O)/test/unit/%.o $(LIBMAAS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIBMAAS) $(LIBS)

deps:
	@tools/deps

# make check: every test; prints one closing line "N passed, N failed".
check: deps
	@$(MAKE) --no-print-directory all units
	@MAAS_BIN=$(CURDIR)/$(BIN) MAAS_UNITS="$(UNITS)" tools/run-tests

units: $(UNITS)

demo: deps
	@$(MAKE) --no-print-directory all
	@MAAS_BIN=$(CURDIR)/$(BIN) examples/demo.sh

fuzz:
	@tools/fuzz $(FUZZ_SRC)

bench: all
	@bench/run-all

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7
	install -m 755 $(TOOLS) $(DESTDIR)$(BINDIR)/
	install -m 644 man/man1/*.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 644 man/man5/*.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 644 man/man7/*.7 $(DESTDIR)$(MANDIR)/man7/
	install -d $(DESTDIR)$(DATADIR)/bash-completion/completions $(DESTDIR)$(DATADIR)/zsh/vendor-completions $(DESTDIR)$(DATADIR)/fish/vendor_completions.d
	for t in $(notdir $(TOOLS)); do \
		install -m 644 completions/bash/$$t $(DESTDIR)$(DATADIR)/bash-completion/completions/$$t; \
		install -m 644 completions/zsh/_$$t $(DESTDIR)$(DATADIR)/zsh/vendor-completions/_$$t; \
		install -m 644 completions/fish/$$t.fish $(DESTDIR)$(DATADIR)/fish/vendor_completions.d/$$t.fish; \
	done

uninstall:
	for t in $(notdir $(TOOLS)); do \
		rm -f $(DESTDIR)$(BINDIR)/$$t $(DESTDIR)$(MANDIR)/man1/$$t.1 \
		  $(DESTDIR)$(DATADIR)/bash-completion/completions/$$t \
		  $(DESTDIR)$(DATADIR)/zsh/vendor-completions/_$$t \
		  $(DESTDIR)$(DATADIR)/fish/vendor_completions.d/$$t.fish; \
	done
	rm -f $(DESTDIR)$(MANDIR)/man5/maas-*.5 $(DESTDIR)$(MANDIR)/man7/maas.7

clean:
	rm -rf build build-san bin lib/libmaas.a

-include $(shell find $(O) -name '*.d' 2>/dev/null)
