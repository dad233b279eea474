# catalog.mk: make fragment of the catalog (modules/catalog), included by the
# top Makefile. Paths are relative to the project root.
#
#   make catalog-unit    the pure part's unit tests (TAP), plain and with ASan+UBSan
#   make bench-catalog   the catalog benchmark (bench/catalog/run.sh): a 24-card page
#                        for na-buyer on 50,000 products, warm path vs naive SQL vs a
#                        static file of the same size, with wrk

CATALOG_DIR        := modules/catalog
CATALOG_PURE_SRCS  := $(CATALOG_DIR)/b2b_catalog_query.c
CATALOG_PURE_HDRS  := $(CATALOG_DIR)/b2b_catalog_query.h
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
catalog-unit: build/unit/catalog_query build/unit/catalog_query_asan
	prove -v --exec '' $^

bench-catalog: all
	@bench/catalog/run.sh
