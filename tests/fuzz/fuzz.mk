# tests/fuzz/fuzz.mk: libFuzzer targets, built with clang and ASan+UBSan into
# $(FUZZ_BUILD). Included by the root Makefile.
#   make fuzz [FUZZ_SECONDS=60] [FUZZ_TARGETS="ini http"]  fuzz each target, growing
#                                      tests/fuzz/corpus/<target>/
#   make fuzz-corpus                   replay every committed corpus once (regressions)
#   make fuzz-bins                     only build the fuzzers
FUZZ_BUILD ?= build-fuzz
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= ini config roster date tz select http
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
override FUZZ_CFLAGS := -g -O1 -std=c17 -D_GNU_SOURCE -DDEADLINED_FUZZ $(FUZZ_SAN) \
	-Wall -Wextra -Werror -Wshadow -Wno-unused-parameter -Wvla -Iinclude \
	-I/usr/include/iniparser $(shell pkg-config --cflags $(PKGS) 2>/dev/null) -MMD -MP
FUZZ_LIB_OBJS := $(LIB_SRCS:src/%.c=$(FUZZ_BUILD)/obj/%.o)
FUZZ_BINS := $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz-%)

# Longest input worth trying per target (libFuzzer's -max_len).
FUZZ_MAXLEN_ini := 4096
FUZZ_MAXLEN_config := 8192
FUZZ_MAXLEN_roster := 8192
FUZZ_MAXLEN_date := 64
FUZZ_MAXLEN_tz := 8192
FUZZ_MAXLEN_select := 512
FUZZ_MAXLEN_http := 4096

.PHONY: fuzz fuzz-bins fuzz-corpus
fuzz-bins: $(FUZZ_BINS)

$(FUZZ_BUILD)/flags: FORCE | $(FUZZ_BUILD)/obj
	@echo '$(FUZZ_CC) $(FUZZ_CFLAGS)' | cmp -s - $@ || echo '$(FUZZ_CC) $(FUZZ_CFLAGS)' > $@
# Library objects get coverage hooks but no fuzzer main.
$(FUZZ_BUILD)/obj/%.o: src/%.c $(FUZZ_BUILD)/flags | $(FUZZ_BUILD)/obj
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<
$(FUZZ_BUILD)/libdeadlined.a: $(FUZZ_LIB_OBJS)
	rm -f $@ && ar rcs $@ $^
$(FUZZ_BUILD)/fuzz-%: tests/fuzz/fuzz-%.c $(FUZZ_BUILD)/libdeadlined.a $(FUZZ_BUILD)/flags
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_BUILD)/libdeadlined.a $(LDLIBS)
$(FUZZ_BUILD)/obj:
	mkdir -p $@

# New inputs land in the committed corpus (the first directory); crashes in $(FUZZ_BUILD).
# (fuzz-run-X and fuzz-replay-X are not .PHONY: phony targets skip pattern rules.)
fuzz: $(FUZZ_TARGETS:%=fuzz-run-%)
fuzz-run-%: $(FUZZ_BUILD)/fuzz-%
	@mkdir -p tests/fuzz/corpus/$*
	@echo "== fuzz-$* for $(FUZZ_SECONDS) s"
	./$< -max_total_time=$(FUZZ_SECONDS) -max_len=$(FUZZ_MAXLEN_$*) -print_final_stats=1 \
		$(if $(wildcard tests/fuzz/$*.dict),-dict=tests/fuzz/$*.dict) \
		-artifact_prefix=$(FUZZ_BUILD)/$*- tests/fuzz/corpus/$*

fuzz-corpus: $(FUZZ_TARGETS:%=fuzz-replay-%)
fuzz-replay-%: $(FUZZ_BUILD)/fuzz-%
	./$< -runs=0 tests/fuzz/corpus/$*

-include $(wildcard $(FUZZ_BUILD)/obj/*.d $(FUZZ_BUILD)/obj/*/*.d $(FUZZ_BUILD)/*.d)
