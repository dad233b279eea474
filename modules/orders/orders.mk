# orders.mk: make fragment of the cart and orders capability, included by the
# top Makefile. Paths are relative to the project root.
#
#   build/unit/test_quickorder, build/unit/test_order_state
#                         pure C unit tests (TAP), run by t/unit.t
#   make bench-checkout   checkout throughput and p99 (wrk) beside the same
#                         database work in pgbench; see bench/checkout/README.md

ORDERS_DIR        := modules/orders
ORDERS_PURE_SRCS  := $(ORDERS_DIR)/b2b_quickorder.c $(ORDERS_DIR)/b2b_order_state.c
ORDERS_PURE_HDRS  := $(ORDERS_DIR)/b2b_quickorder.h $(ORDERS_DIR)/b2b_order_state.h \
                     tests/tap.h
ORDERS_UNIT_CFLAGS ?= -std=c11 -Wall -Wextra -Werror -O1 -g -D_POSIX_C_SOURCE=200809L \
                      -fsanitize=address,undefined -fno-sanitize-recover=undefined

build/unit/test_quickorder: $(ORDERS_DIR)/tests/test_quickorder.c $(ORDERS_DIR)/b2b_quickorder.c $(ORDERS_PURE_HDRS)
	@mkdir -p build/unit
	$(CC) $(ORDERS_UNIT_CFLAGS) -I$(ORDERS_DIR) $(ORDERS_DIR)/tests/test_quickorder.c \
	    $(ORDERS_DIR)/b2b_quickorder.c -o $@

build/unit/test_order_state: $(ORDERS_DIR)/tests/test_order_state.c $(ORDERS_DIR)/b2b_order_state.c $(ORDERS_PURE_HDRS)
	@mkdir -p build/unit
	$(CC) $(ORDERS_UNIT_CFLAGS) -I$(ORDERS_DIR) $(ORDERS_DIR)/tests/test_order_state.c \
	    $(ORDERS_DIR)/b2b_order_state.c -o $@

UNIT_TESTS += build/unit/test_quickorder build/unit/test_order_state

# The bench instance of scripts/bench.sh (production-scale data), only the
# checkout parts. Ports: B2B_BENCH_PG_PORT, B2B_BENCH_HTTP_PORT, ...
.PHONY: bench-checkout
bench-checkout: all
	B2B_BENCH="checkout-http checkout-slow-erp" scripts/bench.sh
