# Fuzz targets (libFuzzer + ASan + UBSan, clang), included by the top Makefile.
#
#   make fuzz                     build every tests/fuzz/fuzz_*.c, run each for FUZZ_SECONDS (60)
#   make fuzz FUZZ_SECONDS=600 FUZZ_ONLY="addr opt"
#   make fuzz-bins                just build them (tests/fuzz/suite.sh does this)
#
# Each target links only the engine sources it exercises, compiled again with
# the fuzzer's instrumentation into $(FUZZ_BUILD)/.  The corpus is checked in
# under tests/fuzz/corpus/<target>/ and `make fuzz` grows it: a run writes its
# new inputs to $(FUZZ_BUILD)/corpus/<target>/, then `-merge=1` copies into
# tests/fuzz/corpus/<target>/ only those that add coverage (commit them).
# Crashes go to $(FUZZ_BUILD)/crash-<target>-*.  The smoke run of `make check`
# (tests/fuzz/suite.sh) leaves the checked-in corpus alone.

FUZZ_BUILD ?= build-fuzz
FUZZ_CC ?= $(CLANG)
FUZZ_SECONDS ?= 60
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS := -g -O1 -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Wno-missing-field-initializers \
	-Iinclude -I. -pthread $(FUZZ_SAN) -fsanitize=fuzzer-no-link \
	$(shell $(PKG_CONFIG) --cflags jansson libpcap liburcu-cds liburcu 2>/dev/null)
FUZZ_LDFLAGS := -fsanitize=fuzzer $(FUZZ_SAN) -pthread

# What each target links (besides its own file), and extra libraries.
fuzz_src_addr  := engine/addr.c tests/fuzz/numeric_dns.c
fuzz_src_units := engine/units.c
fuzz_src_opt   := cli/opt.c engine/units.c
fuzz_src_stamp := engine/stamp.c engine/flowstat.c
fuzz_src_frame := frames/pktgen.c frames/pcap.c engine/stamp.c
fuzz_libs_frame := $(shell $(PKG_CONFIG) --libs libpcap 2>/dev/null || echo -lpcap)
fuzz_src_pcap  := frames/pcap.c frames/pktgen.c engine/stamp.c
fuzz_libs_pcap := $(shell $(PKG_CONFIG) --libs libpcap 2>/dev/null || echo -lpcap)
fuzz_libs_addr := -ldl
fuzz_src_registry  := registry/registry.c
fuzz_libs_registry := $(shell $(PKG_CONFIG) --libs jansson liburcu-cds liburcu 2>/dev/null)
# The control-channel decoder of `salvo serve` (apps/ctl.c).
fuzz_src_ctl  := apps/ctl.c
fuzz_libs_ctl := $(shell $(PKG_CONFIG) --libs jansson 2>/dev/null || echo -ljansson)
# The record reader of `salvo merge` (apps/merge.c) and the histogram it builds.
fuzz_src_merge  := apps/merge.c engine/hist.c
fuzz_libs_merge := $(shell $(PKG_CONFIG) --libs jansson 2>/dev/null || echo -ljansson)
fuzz_src_journal  := registry/registry.c
fuzz_libs_journal := $(fuzz_libs_registry)
# liburcu's cds_lfht_for_each_entry() computes caa_container_of(NULL, ...) at
# the end of every walk: clang's pointer-overflow check flags that macro idiom
# on each list, so it is off for this one file (the other checks stay on).
$(FUZZ_BUILD)/obj/registry/registry.o: FUZZ_EXTRA := -fno-sanitize=pointer-overflow
# The server app (included by the target for its static functions) on the null backend.
fuzz_src_registry_srv  := registry/registry.c engine/addr.c engine/backend.c engine/pool.c \
	engine/hist.c engine/cfg.c backends/null.c
fuzz_libs_registry_srv := $(shell $(PKG_CONFIG) --libs jansson liburcu-cds liburcu liburing 2>/dev/null) -ldl
$(FUZZ_BUILD)/fuzz_registry_srv: registry/registry_srv.c

# The profile parser of `salvo run` (cli/profile.c) with what it calls; the null
# backend is the one registered (the others need their libraries).
fuzz_src_profile  := cli/profile.c cli/raw_fields.c cli/backend_check.c engine/units.c \
	engine/addr.c frames/pktgen.c frames/pcap.c engine/stamp.c engine/cfg.c engine/backend.c \
	engine/pool.c backends/null.c cli/opt.c tests/fuzz/numeric_dns.c
fuzz_libs_profile := $(shell $(PKG_CONFIG) --libs jansson libpcap 2>/dev/null || echo -ljansson -lpcap) -ldl

FUZZ_ALL := $(patsubst tests/fuzz/fuzz_%.c,%,$(sort $(wildcard tests/fuzz/fuzz_*.c)))
FUZZ_ONLY ?= $(FUZZ_ALL)
FUZZ_BINS := $(patsubst %,$(FUZZ_BUILD)/fuzz_%,$(FUZZ_ONLY))
fuzz_obj = $(patsubst %.c,$(FUZZ_BUILD)/obj/%.o,$(1))

.PHONY: fuzz fuzz-bins

fuzz-bins: $(FUZZ_BINS)

fuzz: fuzz-bins
	@set -e; for t in $(FUZZ_ONLY); do \
		mkdir -p $(FUZZ_BUILD)/corpus/$$t tests/fuzz/corpus/$$t; \
		echo "  FUZZ   $$t for $(FUZZ_SECONDS) s"; \
		$(FUZZ_BUILD)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 -rss_limit_mb=2048 \
			-artifact_prefix=$(FUZZ_BUILD)/crash-$$t- \
			$(FUZZ_BUILD)/corpus/$$t tests/fuzz/corpus/$$t 2>$(FUZZ_BUILD)/fuzz-$$t.log || \
			{ tail -n 60 $(FUZZ_BUILD)/fuzz-$$t.log; echo "fuzz_$$t failed: see $(FUZZ_BUILD)/fuzz-$$t.log"; exit 1; }; \
		grep -E 'stat::number_of_executed_units|stat::new_units_added' $(FUZZ_BUILD)/fuzz-$$t.log | sed 's/^/         /'; \
		before=$$(ls tests/fuzz/corpus/$$t | wc -l); \
		$(FUZZ_BUILD)/fuzz_$$t -merge=1 -rss_limit_mb=2048 tests/fuzz/corpus/$$t $(FUZZ_BUILD)/corpus/$$t \
			2>$(FUZZ_BUILD)/merge-$$t.log || \
			{ tail -n 20 $(FUZZ_BUILD)/merge-$$t.log; echo "fuzz_$$t: merge into tests/fuzz/corpus/$$t failed"; exit 1; }; \
		echo "         tests/fuzz/corpus/$$t: $$before -> $$(ls tests/fuzz/corpus/$$t | wc -l) inputs"; \
	done

# Keep the objects (make would delete them as intermediates of the pattern chain).
.PRECIOUS: $(FUZZ_BUILD)/obj/%.o

$(FUZZ_BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(call msg,FUZZCC,$<)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_EXTRA) -c -o $@ $<

.SECONDEXPANSION:
$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $$(call fuzz_obj,$$(fuzz_src_$$*))
	@mkdir -p $(dir $@)
	$(call msg,FUZZLD,$@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -Werror $(FUZZ_LDFLAGS) -o $@ $< $(call fuzz_obj,$(fuzz_src_$*)) \
		$(fuzz_libs_$*) -lm
