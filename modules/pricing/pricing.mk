# pricing.mk — make fragment for the pure pricing engine, included by the top Makefile.
# Paths are relative to the project root (where make runs).
#
#   make pricing-unit            unit tests (TAP), plain and with ASan+UBSan
#   make pricing-fuzz            libFuzzer targets (clang), each for FUZZ_SECONDS (default 10)
#   make pricing-bench-resolver  build/compile/resolve benchmark against the targets
#   make pricing-differential    engine vs sql/050 reference (needs PG* env, see the script)
#
# PRICING_CORE_SRCS is what the Apache module links (no httpd/APR inside);
# PRICING_JSON_SRCS adds the jansson mapping (-ljansson).

PRICING_DIR        := modules/pricing
PRICING_BUILD      := build/pricing
PRICING_CORE_SRCS  := $(PRICING_DIR)/b2b_money.c $(PRICING_DIR)/b2b_rules.c \
                      $(PRICING_DIR)/b2b_snapshot.c $(PRICING_DIR)/b2b_resolve.c
PRICING_JSON_SRCS  := $(PRICING_DIR)/b2b_pricing_json.c
PRICING_HEADERS    := $(PRICING_DIR)/b2b_pricing.h $(PRICING_DIR)/b2b_pricing_private.h \
                      $(PRICING_DIR)/b2b_pricing_json.h
PRICING_GEN_SRCS   := $(PRICING_DIR)/tests/pricing_gen.c
PRICING_TEST_HDRS  := $(PRICING_DIR)/tests/pricing_gen.h $(PRICING_DIR)/tests/tap.h

CC                 ?= cc
PRICING_CFLAGS     ?= -std=c11 -Wall -Wextra -Werror -O2 -fPIC -D_POSIX_C_SOURCE=200809L
PRICING_SAN_FLAGS  := -std=c11 -Wall -Wextra -Werror -O1 -g -fno-omit-frame-pointer \
                      -D_POSIX_C_SOURCE=200809L -fsanitize=address,undefined \
                      -fno-sanitize-recover=undefined
PRICING_LIBS       := -ljansson
FUZZ_SECONDS       ?= 10
FUZZ_CC            ?= clang
PROVE              ?= prove

.PHONY: pricing-unit pricing-fuzz pricing-bench-resolver pricing-differential pricing-clean \
        pricing-objs

$(PRICING_BUILD):
	@mkdir -p $(PRICING_BUILD)

# Objects for the module (linked into mod_b2bportal.so by the top Makefile if it likes).
PRICING_CORE_OBJS := $(patsubst $(PRICING_DIR)/%.c,$(PRICING_BUILD)/%.o,$(PRICING_CORE_SRCS) $(PRICING_JSON_SRCS))
$(PRICING_BUILD)/%.o: $(PRICING_DIR)/%.c $(PRICING_HEADERS) | $(PRICING_BUILD)
	$(CC) $(PRICING_CFLAGS) -c $< -o $@
pricing-objs: $(PRICING_CORE_OBJS)

PRICING_TEST_SRCS := $(PRICING_DIR)/tests/test_pricing.c $(PRICING_GEN_SRCS) $(PRICING_CORE_SRCS)
PRICING_JSON_TEST_SRCS := $(PRICING_DIR)/tests/test_pricing_json.c $(PRICING_CORE_SRCS) $(PRICING_JSON_SRCS)

$(PRICING_BUILD)/test_pricing: $(PRICING_TEST_SRCS) $(PRICING_HEADERS) $(PRICING_TEST_HDRS) | $(PRICING_BUILD)
	$(CC) $(PRICING_CFLAGS) $(PRICING_TEST_SRCS) -o $@
$(PRICING_BUILD)/test_pricing_asan: $(PRICING_TEST_SRCS) $(PRICING_HEADERS) $(PRICING_TEST_HDRS) | $(PRICING_BUILD)
	$(CC) $(PRICING_SAN_FLAGS) $(PRICING_TEST_SRCS) -o $@
$(PRICING_BUILD)/test_pricing_json: $(PRICING_JSON_TEST_SRCS) $(PRICING_HEADERS) $(PRICING_TEST_HDRS) | $(PRICING_BUILD)
	$(CC) $(PRICING_CFLAGS) $(PRICING_JSON_TEST_SRCS) -o $@ $(PRICING_LIBS)
$(PRICING_BUILD)/test_pricing_json_asan: $(PRICING_JSON_TEST_SRCS) $(PRICING_HEADERS) $(PRICING_TEST_HDRS) | $(PRICING_BUILD)
	$(CC) $(PRICING_SAN_FLAGS) $(PRICING_JSON_TEST_SRCS) -o $@ $(PRICING_LIBS)

PRICING_UNIT_BINS := $(PRICING_BUILD)/test_pricing $(PRICING_BUILD)/test_pricing_asan \
                     $(PRICING_BUILD)/test_pricing_json $(PRICING_BUILD)/test_pricing_json_asan

# prove runs each binary (--exec '' runs them as programs) and prints its summary.
pricing-unit: $(PRICING_UNIT_BINS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  $(PROVE) -v --exec '' $(PRICING_UNIT_BINS)

# ---- fuzzing (clang + libFuzzer) ----
PRICING_FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -D_POSIX_C_SOURCE=200809L
$(PRICING_BUILD)/fuzz_quote_body: $(PRICING_DIR)/tests/fuzz_quote_body.c $(PRICING_CORE_SRCS) $(PRICING_JSON_SRCS) $(PRICING_HEADERS) | $(PRICING_BUILD)
	$(FUZZ_CC) $(PRICING_FUZZ_FLAGS) $(PRICING_DIR)/tests/fuzz_quote_body.c $(PRICING_CORE_SRCS) $(PRICING_JSON_SRCS) -o $@ $(PRICING_LIBS)
$(PRICING_BUILD)/fuzz_rule_compiler: $(PRICING_DIR)/tests/fuzz_rule_compiler.c $(PRICING_CORE_SRCS) $(PRICING_HEADERS) | $(PRICING_BUILD)
	$(FUZZ_CC) $(PRICING_FUZZ_FLAGS) $(PRICING_DIR)/tests/fuzz_rule_compiler.c $(PRICING_CORE_SRCS) -o $@

pricing-fuzz: $(PRICING_BUILD)/fuzz_quote_body $(PRICING_BUILD)/fuzz_rule_compiler
	@mkdir -p $(PRICING_BUILD)/corpus_quote $(PRICING_BUILD)/corpus_rules
	cp -n $(PRICING_DIR)/tests/fuzz_seeds/quote_* $(PRICING_BUILD)/corpus_quote/ 2>/dev/null || true
	cp -n $(PRICING_DIR)/tests/fuzz_seeds/rules_* $(PRICING_BUILD)/corpus_rules/ 2>/dev/null || true
	$(PRICING_BUILD)/fuzz_quote_body -max_total_time=$(FUZZ_SECONDS) -max_len=8192 \
	  -dict=$(PRICING_DIR)/tests/fuzz_seeds/quote.dict $(PRICING_BUILD)/corpus_quote
	$(PRICING_BUILD)/fuzz_rule_compiler -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
	  $(PRICING_BUILD)/corpus_rules

# ---- benchmark ----
$(PRICING_BUILD)/resolver_bench: bench/pricing/resolver_bench.c $(PRICING_CORE_SRCS) $(PRICING_GEN_SRCS) $(PRICING_HEADERS) | $(PRICING_BUILD)
	$(CC) $(PRICING_CFLAGS) bench/pricing/resolver_bench.c $(PRICING_GEN_SRCS) $(PRICING_CORE_SRCS) -o $@

pricing-bench-resolver: $(PRICING_BUILD)/resolver_bench
	$(PRICING_BUILD)/resolver_bench

# ---- differential test against the SQL reference ----
$(PRICING_BUILD)/differential_gen: $(PRICING_DIR)/tests/differential_gen.c $(PRICING_CORE_SRCS) $(PRICING_GEN_SRCS) $(PRICING_HEADERS) | $(PRICING_BUILD)
	$(CC) $(PRICING_CFLAGS) $(PRICING_DIR)/tests/differential_gen.c $(PRICING_GEN_SRCS) $(PRICING_CORE_SRCS) -o $@

pricing-differential: $(PRICING_BUILD)/differential_gen
	$(PRICING_DIR)/tests/differential.sh

pricing-clean:
	rm -rf $(PRICING_BUILD)
