# catalog.mk: make fragment of the catalog (modules/catalog), included by the
# top Makefile. Paths are relative to the project root.
#
#   make catalog-unit    the pure part's unit tests (TAP), plain and with ASan+UBSan
#   make bench-catalog   the catalog benchmark (bench/catalog/run.sh) on the bench
#                        instance scripts/bench.sh starts (50,000 products): a 24-card
#                        page for na-buyer, warm path vs naive SQL vs a static file of
#                        the same size, with wrk. Ports: B2B_BENCH_*_PORT, and
#                        B2B_CATALOG_BENCH_PORT for its httpd (bench httpd + 5)

CATALOG_DIR        := modules/catalog
CATALOG_PURE_SRCS  := $(CATALOG_DIR)/b2b_catalog_query.c
CATALOG_PURE_HDRS  := $(CATALOG_DIR)/b2b_catalog_query.h tests/tap.h
CATALOG_TEST_SRCS  := $(CATALOG_DIR)/tests/test_catalog_query.c $(CATALOG_PURE_SRCS)
CATALOG_CFLAGS     := -std=c11 -Wall -Wextra -Werror -O2 -D_POSIX_C_SOURCE=200809L
CATALOG_SAN_FLAGS  := -std=c11 -Wall -Wextra -Werror -O1 -g -fno-omit-frame-pointer \
                      -D_POSIX_C_SOURCE=200809L -fsanitize=address,undefined \
                      -fno-sanitize-recover=undefined

build/unit/catalog_query: $(CATALOG_TEST_SRCS) $(CATALOG_PURE_HDRS)
	@mkdir -p build/unit
	$(CC) $(CATALOG_CFLAGS) $(CATALOG_TEST_SRCS) -o $@

build/unit/catalog_query_asan: $(CATALOG_TEST_SRCS) $(CATALOG_PURE_HDRS)
	@mkdir -p build/unit
	$(CC) $(CATALOG_SAN_FLAGS) $(CATALOG_TEST_SRCS) -o $@

UNIT_TESTS += build/unit/catalog_query build/unit/catalog_query_asan

.PHONY: catalog-unit bench-catalog
catalog-unit: build/unit/catalog_query build/unit/catalog_query_asan \
              build/unit/access_index build/unit/access_index_asan
	prove -v --exec '' $^

bench-catalog: deps all
	@B2B_BENCH=catalog-page scripts/bench.sh

# The access index (b2b_access_index.c): SKU -> access key in shared memory.
AIX_TEST_SRCS := $(CATALOG_DIR)/tests/test_access_index.c $(CATALOG_DIR)/b2b_access_index.c

build/unit/access_index: $(AIX_TEST_SRCS) $(CATALOG_DIR)/b2b_access_index.h tests/tap.h
	@mkdir -p build/unit
	$(CC) $(CATALOG_CFLAGS) $(AIX_TEST_SRCS) -o $@

build/unit/access_index_asan: $(AIX_TEST_SRCS) $(CATALOG_DIR)/b2b_access_index.h tests/tap.h
	@mkdir -p build/unit
	$(CC) $(CATALOG_SAN_FLAGS) $(AIX_TEST_SRCS) -o $@

UNIT_TESTS += build/unit/access_index build/unit/access_index_asan
