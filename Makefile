# mod_b2bportal: build with apxs, run the demo, run the tests.
#   make          build the modules (.libs/*.so)
#   make demo     deps, build, services and demo data on 127.0.0.1:8080
#   make stop     stop what demo started
#   make test     deps, build, unit tests and the Apache::Test suite
#   make bench    the benchmarks in bench/
#   make install  apxs -i (into the system httpd)

APXS      ?= apxs
CC        ?= cc
WARN      := -Wall -Wextra -Werror
INCLUDES  := -Iinclude -Imodules/core -Imodules/pricing -Imodules/orders
SHELL     := /bin/bash
# The fragments included below define rules before `all`: keep it the default.
.DEFAULT_GOAL := all

CORE_SRCS := mod_b2bportal.c \
             modules/core/b2b_http.c \
             modules/core/b2b_db.c \
             modules/core/b2b_identity.c \
             modules/core/b2b_authn.c \
             modules/account/b2b_account.c \
             modules/worker/b2b_worker.c \
             modules/pricing/b2b_money.c \
             modules/cart/b2b_cart.c \
             modules/orders/b2b_orders_common.c \
             modules/orders/b2b_checkout.c \
             modules/orders/b2b_orders_read.c \
             modules/orders/b2b_order_actions.c \
             modules/orders/b2b_invoices.c \
             modules/orders/b2b_quickorder.c \
             modules/orders/b2b_order_state.c \
             modules/catalog/b2b_catalog_http.c \
             modules/catalog/b2b_catalog_cache.c \
             modules/catalog/b2b_catalog_db.c \
             modules/catalog/b2b_catalog_worker.c \
             modules/catalog/b2b_catalog_bench.c \
             modules/catalog/b2b_catalog_query.c \
             modules/catalog/b2b_access_index.c
CORE_HDRS := include/b2b_api.h modules/core/b2b_core.h include/b2b_pricing_api.h \
             modules/orders/b2b_orders.h modules/orders/b2b_quickorder.h \
             modules/orders/b2b_order_state.h modules/orders/b2b_orders_sql.h \
             modules/catalog/b2b_catalog.h modules/catalog/b2b_catalog_query.h \
             modules/catalog/b2b_access_index.h \
             include/b2b_catalog_api.h

# Pure C unit test programs (TAP on stdout) live in build/unit/; each
# capability's fragment appends its programs to UNIT_TESTS.
UNIT_TESTS :=
-include modules/pricing/pricing.mk
-include modules/orders/orders.mk
-include modules/catalog/catalog.mk
-include modules/erp/erp.mk

# The ERP queue drain, stock sync and endpoints live in mod_b2bportal.so
# with the ERP client library they use.
ERP_SHELL_SRCS := modules/erp/b2b_erp_apache.c modules/erp/b2b_erp_worker.c \
                  modules/erp/b2b_erp_endpoints.c modules/erp/b2b_erp_time.c
CORE_SRCS += $(ERP_SHELL_SRCS) $(ERP_CORE_SRCS)
CORE_HDRS += modules/erp/b2b_erp_shell.h modules/erp/b2b_erp_time.h $(ERP_HDRS)
INCLUDES  += $(ERP_INCLUDES)
# ISO 8601 times from the ERP: pure C, unit-tested alone.
UNIT_TESTS += build/unit/erp_time
build/unit/erp_time: modules/erp/tests/erp_time_test.c modules/erp/b2b_erp_time.c modules/erp/b2b_erp_time.h
	@mkdir -p $(@D)
	$(CC) -std=c11 -O1 -g $(WARN) -Imodules/erp -o $@ $< modules/erp/b2b_erp_time.c

# mod_b2b_pricing: the engine (pure C, shared with the unit tests, fuzzers
# and benchmarks) and its Apache shell.
PRICING_SHELL_SRCS := modules/pricing/mod_b2b_pricing.c \
                      modules/pricing/b2b_pricing_store.c \
                      modules/pricing/b2b_pricing_worker.c \
                      modules/pricing/b2b_pricing_load.c \
                      modules/pricing/b2b_pricing_http.c \
                      modules/pricing/b2b_pricing_admin.c
PRICING_SHELL_HDRS := modules/pricing/b2b_pricing_shell.h include/b2b_pricing_api.h

# Pricing unit tests run from t/unit.t like every other unit program.
UNIT_TESTS += $(PRICING_UNIT_BINS)

.PHONY: all deps install demo stop test unit-build browser-deps bench clean

all: .libs/mod_b2bportal.so .libs/mod_b2b_pricing.so

.libs/mod_b2bportal.so: $(CORE_SRCS) $(CORE_HDRS)
	@mkdir -p build
	@echo "  APXS  mod_b2bportal.so (log: build/apxs-core.log)"
	@$(APXS) -c -o mod_b2bportal.la $(addprefix -Wc$(,),$(WARN)) \
	    $(addprefix -Wc$(,),$(INCLUDES)) $(CORE_SRCS) -ljansson -lhiredis -lcurl \
	    > build/apxs-core.log 2>&1 || { cat build/apxs-core.log; exit 1; }
	@# apxs/libtool leaves its objects beside the sources; keep the tree tidy
	@find . -path ./build -prune -o \( -name '*.lo' -o -name '*.slo' -o -name '*.o' \) -print | xargs -r rm -f

.libs/mod_b2b_pricing.so: $(PRICING_SHELL_SRCS) $(PRICING_SHELL_HDRS) $(PRICING_CORE_SRCS) \
                          $(PRICING_JSON_SRCS) $(PRICING_HEADERS) $(CORE_HDRS)
	@mkdir -p build
	@echo "  APXS  mod_b2b_pricing.so (log: build/apxs-pricing.log)"
	@$(APXS) -c -o mod_b2b_pricing.la $(addprefix -Wc$(,),$(WARN)) \
	    $(addprefix -Wc$(,),$(INCLUDES)) $(PRICING_SHELL_SRCS) $(PRICING_CORE_SRCS) \
	    $(PRICING_JSON_SRCS) -ljansson -lhiredis \
	    > build/apxs-pricing.log 2>&1 || { cat build/apxs-pricing.log; exit 1; }
	@find . -path ./build -prune -o \( -name '*.lo' -o -name '*.slo' -o -name '*.o' \) -print | xargs -r rm -f

, := ,

# t/unit.t runs every program in build/unit/.
unit-build: $(UNIT_TESTS)
	@mkdir -p build/unit
	@for t in $(UNIT_TESTS); do case $$t in build/unit/*) ;; *) ln -sf ../../$$t build/unit/ ;; esac; done

deps:
	@scripts/deps.sh

install: all
	$(APXS) -i -n b2bportal .libs/mod_b2bportal.so

demo: deps all
	@scripts/demo.sh

stop:
	@scripts/services.sh stop demo

test: deps all browser-deps
	@scripts/test.sh

# playwright-core for t/browser.t, exactly as locked, into t/browser/ (it
# drives Debian's chromium: no browser is downloaded).
BROWSER_STAMP := t/browser/node_modules/.package-lock.json
browser-deps: $(BROWSER_STAMP)
$(BROWSER_STAMP): t/browser/package.json t/browser/package-lock.json
	npm ci --prefix t/browser --no-audit --no-fund --loglevel=error
	@touch $@

bench: deps all
	@scripts/bench.sh

clean:
	rm -rf .libs build *.la *.lo *.slo modules/*/*.lo modules/*/*.slo t/logs t/browser/node_modules
