# salvo — one Makefile for the whole tree.
#
#   make            build ./salvo
#   make demo       install missing packages, build, 5 s loopback UDP throughput run
#   make check      install, build, run every test suite (ends with "N passed, N failed")
#   make fresh-check  the same on a pristine Debian 12 root (debootstrap; root)
#   make asan       build under ASan+UBSan into build-asan/
#   make tsan       build under TSan into build-tsan/
#   make bench      run the comparative benchmarks (bench/run.sh)
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

PKGS := liburing libbpf libxdp jansson liburcu-cds liburcu libpcap libcap

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

.PHONY: all salvo unit-bins deps demo check check-fast fresh-check asan tsan bench probes clean format

all: $(BUILD)/salvo unit-bins
ifeq ($(BUILD),build)
	$(Q)cp -f $(BUILD)/salvo ./salvo
endif

salvo: all

$(BUILD)/salvo: $(CLI_OBJ) $(LIB_OBJ)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_ALL)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(call msg,CC,$<)
	$(Q)$(CC) $(CFLAGS) $(SALVO_CFLAGS) -c -o $@ $<

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

# --- set-up -----------------------------------------------------------------
deps:
	@tools/deps.sh

# --- the two README commands -------------------------------------------------
demo: deps
	@$(MAKE) --no-print-directory all
	@tools/demo.sh

# The three builds use every core (nproc); the tests run one at a time.
NPROC := $(shell nproc 2>/dev/null || echo 1)
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
		$(if $(filter send_uring,$*),$(shell $(PKG_CONFIG) --libs liburing))

format:
	clang-format -i $(ENGINE_SRC) $(APPS_SRC) $(BACKEND_SRC) $(CLI_SRC) include/salvo/*.h apps/*.h frames/*.h registry/*.h

clean:
	rm -rf build build-asan build-tsan build-fuzz salvo

# Fuzz targets (libFuzzer) live with their own rules.
-include tests/fuzz/fuzz.mk

# Objects and unit-test binaries alike (a unit test may #include a cli/*.c).
-include $(shell find $(BUILD)/obj $(BUILD)/tests -name '*.d' 2>/dev/null)
