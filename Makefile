# salvo — one Makefile for the whole tree.
#
#   make            build ./salvo
#   make demo       install missing packages, build, 5 s loopback UDP throughput run
#   make check      install, build, run every test suite (ends with "N passed, N failed")
#   make fresh-check  the same on a pristine Debian 12 root (debootstrap; root)
#   make asan       build under ASan+UBSan into build-asan/
#   make tsan       build under TSan into build-tsan/
#   make bench      run the comparative benchmarks (bench/run.sh)
#   make man        man pages and shell completion from the option tables ($(BUILD)/man, $(BUILD)/completion)
#   make install    binary, man pages, completion, docs under $(DESTDIR)$(PREFIX) (default /usr/local)
#   make uninstall  remove what install put there
#   make deb        build the Debian package into $(BUILD)/deb/ (docs/packaging.md)
#
# Everything is built under $(BUILD) (default build/), so several builds
# (plain, asan, tsan) and several people can share one tree.  The plain build
# is copied to ./salvo.

BUILD ?= build
SAN ?=
V ?= 0

CC ?= cc
ifeq ($(CC),cc)
CC := gcc
endif
CLANG ?= clang
PKG_CONFIG ?= pkg-config
NPROC := $(shell nproc 2>/dev/null || echo 1)

PKGS := liburing libbpf libxdp jansson liburcu-cds liburcu libpcap libcap libmicrohttpd

CFLAGS ?= -O2 -g
SALVO_CFLAGS := -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-missing-field-initializers \
	-Iinclude -I. -I$(BUILD)/gen -MMD -MP -pthread \
	$(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
LDLIBS_ALL := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null) -lpthread -lm

ifeq ($(SAN),asan)
SALVO_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif
ifeq ($(SAN),tsan)
SALVO_CFLAGS += -fsanitize=thread -fno-omit-frame-pointer
LDFLAGS += -fsanitize=thread
endif

ifeq ($(V),0)
Q := @
msg = @printf '  %-6s %s\n' $(1) $(2);
else
Q :=
msg =
endif

ENGINE_SRC  := $(sort $(wildcard engine/*.c))
APPS_SRC    := $(sort $(wildcard apps/*.c frames/*.c registry/*.c))
BACKEND_SRC := $(sort $(filter-out %.bpf.c,$(wildcard backends/*.c)))
CLI_SRC     := $(sort $(wildcard cli/*.c))
BPF_SRC     := $(sort $(wildcard backends/*.bpf.c))
UNIT_SRC    := $(sort $(wildcard tests/unit/test_*.c))

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
ENGINE_OBJ  := $(call obj,$(ENGINE_SRC))
APPS_OBJ    := $(call obj,$(APPS_SRC))
BACKEND_OBJ := $(call obj,$(BACKEND_SRC))
CLI_OBJ     := $(call obj,$(CLI_SRC))
# BPF programs are compiled with clang -target bpf and embedded in the binary
# (bpf_embed.S .incbin's them), so ./salvo needs no file beside it.
BPF_OBJ     := $(patsubst backends/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SRC))
BPF_EMBED   := $(if $(BPF_SRC),$(BUILD)/obj/bpf_embed.o)
LIB_OBJ     := $(ENGINE_OBJ) $(APPS_OBJ) $(BACKEND_OBJ) $(BPF_EMBED)
UNIT_BIN    := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))

.PHONY: FORCE all salvo man completion install uninstall deb unit-bins deps demo check check-fast fresh-check asan tsan bench probes clean format

all: $(BUILD)/salvo unit-bins
ifeq ($(BUILD),build)
	$(Q)cp -f $(BUILD)/salvo ./salvo
endif

salvo: all

$(BUILD)/salvo: $(CLI_OBJ) $(LIB_OBJ)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_ALL)

# The build's identity (version, commit, date, library versions): rewritten
# only when it changed, so a new commit recompiles these few files alone.
BUILD_H := $(BUILD)/gen/salvo_build.h
$(BUILD_H): FORCE
	@mkdir -p $(dir $@)
	$(Q)PKG_CONFIG="$(PKG_CONFIG)" tools/version.sh >$@.tmp && \
		{ cmp -s $@.tmp $@ && rm -f $@.tmp || mv -f $@.tmp $@; }
$(BUILD)/obj/cli/version.o $(BUILD)/obj/cli/main.o $(BUILD)/tests/test_report: $(BUILD_H)
FORCE:

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(call msg,CC,$<)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(SALVO_CFLAGS) -c -o $@ $<

# BPF objects: no CO-RE (this kernel may lack BTF), plain -target bpf.
$(BUILD)/bpf/%.bpf.o: backends/%.bpf.c
	@mkdir -p $(dir $@)
	$(call msg,BPF,$<)
	$(Q)$(CLANG) -O2 -g -Wall -Werror -target bpf -I/usr/include/$(shell uname -m)-linux-gnu \
		-c -o $@ $<

$(BUILD)/gen/bpf_embed.S: $(BPF_OBJ)
	@mkdir -p $(dir $@)
	$(Q){ for o in $(BPF_OBJ); do n=$$(basename $$o .bpf.o); \
		printf '\t.section .rodata\n\t.global salvo_bpf_%s\n\t.global salvo_bpf_%s_end\n\t.balign 8\nsalvo_bpf_%s:\n\t.incbin "%s"\nsalvo_bpf_%s_end:\n' \
		$$n $$n $$n $$o $$n; done; printf '\t.section .note.GNU-stack,"",@progbits\n'; } > $@

$(BUILD)/obj/bpf_embed.o: $(BUILD)/gen/bpf_embed.S
	$(call msg,AS,$<)
	$(Q)$(CC) -c -o $@ $<

unit-bins: $(UNIT_BIN)

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(call msg,TEST,$<)
	$(Q)$(CC) $(CFLAGS) $(SALVO_CFLAGS) $(LDFLAGS) -o $@ $< $(LIB_OBJ) $(LDLIBS_ALL) \
		$(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null)

# --- man pages, completion, install, Debian package --------------------------
# Generated from the built binary's own option tables (salvo __options), so
# they hold every option the parser takes and nothing else; the example
# profiles are the complete ones of docs/profiles.md.
DOCS_STAMP := $(BUILD)/gen/docs.stamp
$(DOCS_STAMP): $(BUILD)/salvo tools/gen-docs.py README.md $(wildcard docs/*.md)
	$(call msg,GEN,$(BUILD)/man+completion)
	$(Q)rm -rf $(BUILD)/man $(BUILD)/completion $(BUILD)/examples
	$(Q)python3 tools/gen-docs.py --salvo $(BUILD)/salvo --man $(BUILD)/man --completion $(BUILD)/completion \
		--examples $(BUILD)/examples
	$(Q)touch $@
man completion: $(DOCS_STAMP)

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/salvo
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
# zsh's own directory for /usr/local; Debian's package uses vendor-completions.
ZSHCOMPDIR ?= $(PREFIX)/share/zsh/site-functions
DOC_FILES := README.md $(sort $(wildcard docs/*.md))

# No BPF object is installed: the BPF programs are embedded in the binary.
install: $(BUILD)/salvo $(DOCS_STAMP)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(DOCDIR)/examples \
		$(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR)
	install -m 0755 $(BUILD)/salvo $(DESTDIR)$(BINDIR)/salvo
	install -m 0644 $(BUILD)/man/*.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 $(BUILD)/completion/salvo.bash $(DESTDIR)$(BASHCOMPDIR)/salvo
	install -m 0644 $(BUILD)/completion/_salvo $(DESTDIR)$(ZSHCOMPDIR)/_salvo
	install -m 0644 $(DOC_FILES) $(DESTDIR)$(DOCDIR)/
	install -m 0644 $(BUILD)/examples/*.json $(DESTDIR)$(DOCDIR)/examples/

# Only what install wrote (salvo.1 and salvo-*.1 are salvo's names) and
# salvo's own doc directory; shared directories (bin, man1...) stay.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/salvo $(DESTDIR)$(MANDIR)/man1/salvo.1 $(DESTDIR)$(MANDIR)/man1/salvo-*.1 \
		$(DESTDIR)$(BASHCOMPDIR)/salvo $(DESTDIR)$(ZSHCOMPDIR)/_salvo \
		$(addprefix $(DESTDIR)$(DOCDIR)/,$(notdir $(DOC_FILES))) $(DESTDIR)$(DOCDIR)/examples/profile-*.json
	rmdir --ignore-fail-on-non-empty $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(DOCDIR) 2>/dev/null || true

# The package is built from a copy of the tree (tracked and new files, as
# they are now) in $(BUILD)/deb/, so dpkg-buildpackage's clean step cannot
# touch this tree's builds; COMMIT carries the commit into the copy, which
# has no .git.  DEB_BUILD_OPTIONS: nocheck skips the unit tests.
DEB_VERSION = $(shell tr -d ' \n' <VERSION)
# lintian's errors fail the target (LINTIAN= to skip it).
LINTIAN ?= $(shell command -v lintian 2>/dev/null)
deb: $(BUILD_H)
	$(Q)rm -rf $(BUILD)/deb && mkdir -p $(BUILD)/deb/salvo-$(DEB_VERSION)
	$(Q)git ls-files -z --cached --others --exclude-standard | \
		xargs -0 cp -a --parents -t $(BUILD)/deb/salvo-$(DEB_VERSION)
	$(Q)sed -n 's/^#define SALVO_COMMIT "\(.*\)"/\1/p' $(BUILD_H) >$(BUILD)/deb/salvo-$(DEB_VERSION)/COMMIT
	$(Q)cd $(BUILD)/deb/salvo-$(DEB_VERSION) && \
		DEB_BUILD_OPTIONS="$${DEB_BUILD_OPTIONS:-nocheck parallel=$(NPROC)}" dpkg-buildpackage -us -uc -b
	$(if $(LINTIAN),$(Q)$(LINTIAN) --fail-on error $(BUILD)/deb/salvo_*.deb)
	@ls $(BUILD)/deb/salvo_*.deb

# --- set-up -----------------------------------------------------------------
deps:
	@tools/deps.sh

# --- the two README commands -------------------------------------------------
demo: deps
	@$(MAKE) --no-print-directory all
	@tools/demo.sh

# The three builds use every core (nproc); the tests run one at a time.
check: deps
	@$(MAKE) --no-print-directory -j$(NPROC) all
	@$(MAKE) --no-print-directory -j$(NPROC) BUILD=build-asan SAN=asan all
	@$(MAKE) --no-print-directory -j$(NPROC) BUILD=build-tsan SAN=tsan all
	@tests/run.sh

# make check in a minimal Debian 12 root built by debootstrap, on a clone of
# HEAD: proves tools/deps.sh installs everything the tests call.
fresh-check:
	@tools/fresh-check.sh

# Unit tests only, no install step: for a quick loop while editing.
check-fast:
	@$(MAKE) --no-print-directory all
	@SUITES=unit tests/run.sh

asan:
	@$(MAKE) --no-print-directory BUILD=build-asan SAN=asan all
tsan:
	@$(MAKE) --no-print-directory BUILD=build-tsan SAN=tsan all

bench: deps
	@$(MAKE) --no-print-directory all probes
	@bench/run.sh $(if $(QUICK),--quick)

# The benchmark's probes (bench/probes/): bare programs that give the lower
# bound of each kernel path, built apart from salvo (not linked with it).
PROBE_SRC := $(sort $(wildcard bench/probes/*.c))
PROBE_BIN := $(patsubst bench/probes/%.c,$(BUILD)/probes/%,$(PROBE_SRC))
probes: $(PROBE_BIN)
$(BUILD)/probes/%: bench/probes/%.c bench/probes/probe.h
	$(call msg,PROBE,$@)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -o $@ $< \
		$(if $(filter send_uring recv_uring,$*),$(shell $(PKG_CONFIG) --libs liburing))

format:
	clang-format -i $(ENGINE_SRC) $(APPS_SRC) $(BACKEND_SRC) $(CLI_SRC) include/salvo/*.h apps/*.h frames/*.h registry/*.h

clean:
	rm -rf build build-asan build-tsan build-fuzz salvo

# Fuzz targets (libFuzzer) live with their own rules.
-include tests/fuzz/fuzz.mk

# Objects and unit-test binaries alike (a unit test may #include a cli/*.c).
-include $(shell find $(BUILD)/obj $(BUILD)/tests -name '*.d' 2>/dev/null)
