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
INCLUDES  := -Iinclude -Imodules/core -Imodules/pricing
SHELL     := /bin/bash

CORE_SRCS := mod_b2bportal.c \
             modules/core/b2b_http.c \
             modules/core/b2b_db.c \
             modules/core/b2b_identity.c \
             modules/account/b2b_account.c \
             modules/worker/b2b_worker.c \
             modules/catalog/b2b_catalog_http.c \
             modules/catalog/b2b_catalog_cache.c \
             modules/catalog/b2b_catalog_db.c \
             modules/catalog/b2b_catalog_worker.c \
             modules/catalog/b2b_catalog_query.c \
             modules/pricing/b2b_money.c
CORE_HDRS := include/b2b_api.h modules/core/b2b_core.h \
             modules/catalog/b2b_catalog.h modules/catalog/b2b_catalog_query.h \
             include/b2b_catalog_api.h

# Pure C unit test programs (TAP on stdout) live in build/unit/; each
# capability's fragment appends its programs to UNIT_TESTS.
UNIT_TESTS :=
-include modules/pricing/pricing.mk
-include modules/catalog/catalog.mk

.PHONY: all deps install demo stop test unit-build bench clean

all: .libs/mod_b2bportal.so

.libs/mod_b2bportal.so: $(CORE_SRCS) $(CORE_HDRS)
	@mkdir -p build
	$(APXS) -c -o mod_b2bportal.la $(addprefix -Wc$(,),$(WARN)) \
	    $(addprefix -Wc$(,),$(INCLUDES)) $(CORE_SRCS) -ljansson -lhiredis -lcurl
	@# apxs/libtool leaves its objects beside the sources; keep the tree tidy
	@find . -name '*.lo' -o -name '*.slo' -o -name '*.o' | grep -v '^./build' | xargs -r rm -f

, := ,

unit-build: $(UNIT_TESTS)

deps:
	@scripts/deps.sh

install: all
	$(APXS) -i -n b2bportal .libs/mod_b2bportal.so

demo: deps all
	@scripts/demo.sh

stop:
	@scripts/services.sh stop demo

test: deps all
	@scripts/test.sh

bench: deps all
	@scripts/bench.sh

clean:
	rm -rf .libs build *.la *.lo *.slo modules/*/*.lo modules/*/*.slo t/logs
