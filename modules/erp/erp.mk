# modules/erp/erp.mk — the ERP client library (pure C: libcurl + jansson, no httpd
# types) and its test programs. Included by the top Makefile, which defines CC, WARN
# and UNIT_TESTS. The module build adds $(ERP_CORE_SRCS) and $(ERP_INCLUDES).
#   build/unit/erp_backoff   backoff, status classification, registry (no network)
#   build/unit/erp_adapter   the HTTP adapter against a running simulator: needs
#                            B2B_ERP_URL, otherwise it reports one TAP skip

ERP_CORE_SRCS := modules/erp/b2b_erp.c modules/erp/b2b_erp_http.c
ERP_HDRS      := modules/erp/b2b_erp.h
ERP_INCLUDES  := -Imodules/erp
ERP_LIBS      := -lcurl -ljansson -lpthread
ERP_TEST_CFLAGS := -std=c11 -D_POSIX_C_SOURCE=200809L -O1 -g $(WARN) $(ERP_INCLUDES)

UNIT_TESTS += build/unit/erp_backoff build/unit/erp_adapter

build/unit/erp_backoff: modules/erp/tests/erp_backoff_test.c $(ERP_CORE_SRCS) $(ERP_HDRS) modules/erp/erp.mk
	@mkdir -p $(@D)
	$(CC) $(ERP_TEST_CFLAGS) -o $@ $< $(ERP_CORE_SRCS) $(ERP_LIBS)

build/unit/erp_adapter: modules/erp/tests/erp_adapter_test.c $(ERP_CORE_SRCS) $(ERP_HDRS) modules/erp/erp.mk
	@mkdir -p $(@D)
	$(CC) $(ERP_TEST_CFLAGS) -o $@ $< $(ERP_CORE_SRCS) $(ERP_LIBS)
