# xapistat build.
#
#   make            build build/xapistat (installs missing Debian packages first)
#   make check      build and run every test under ASan + UBSan, then a short fuzz run
#   make bench      measure the figures in docs/BENCHMARKS.md
#   make fuzz       long fuzzing runs (FUZZ_SECONDS per target, default 600)
#   make demo       xapi-sim and xapistat serve against it; prints the URL (Ctrl-C stops)
#   make install    xapistat, its web UI, a systemd unit (PREFIX=/usr/local, DESTDIR)
#
# Sources are found by wildcard: every src/**/*.c goes into xapistat, every
# tests/unit/**/*.c is one test program, every fuzz/*.c one libFuzzer target.

CC        ?= cc
CLANG     ?= clang
BUILD     := build
WARN      := -std=c17 -Wall -Wextra -Wpedantic -Wformat=2 -Wshadow -Wstrict-prototypes \
             -Wmissing-prototypes -Wwrite-strings -Wcast-qual -Wundef -Wpointer-arith \
             -Wsign-compare -Wvla
ifeq ($(CI),true)
WARN      += -Werror
endif
CPPFLAGS  := -D_GNU_SOURCE -Isrc
CFLAGS    ?= -O2 -g
SAN       := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDLIBS    := -lmicrohttpd -lssl -lcrypto -lz -lm
SIM_LDLIBS := -lssl -lcrypto

SRC       := $(shell find src -name '*.c' | sort)
LIB_SRC   := $(filter-out src/main.c,$(SRC))
TEST_SRC  := $(shell find tests/unit -name '*.c' | sort)
FUZZ_SRC  := $(wildcard fuzz/*.c)
# xapi-sim (sim/): never linked into xapistat; its tests link libsim.a before libxs.a
SIM_SRC   := $(shell find sim -name '*.c' | sort)
SIM_LIB_SRC := $(filter-out sim/main.c,$(SIM_SRC))

OBJ       := $(SRC:%.c=$(BUILD)/obj/%.o)
ASAN_OBJ  := $(LIB_SRC:%.c=$(BUILD)/asan/%.o)
FUZZ_OBJ  := $(LIB_SRC:%.c=$(BUILD)/fuzz/obj/%.o)
TESTS     := $(TEST_SRC:%.c=$(BUILD)/asan/%)
SIM_OBJ   := $(SIM_SRC:%.c=$(BUILD)/obj/%.o)
SIM_ASAN_OBJ := $(SIM_LIB_SRC:%.c=$(BUILD)/asan/%.o)
# the programs `make` builds (xapi-sim once it has a main)
PROGRAMS  := $(BUILD)/xapistat $(if $(wildcard sim/main.c),$(BUILD)/xapi-sim $(BUILD)/asan/xapi-sim)
FUZZERS   := $(FUZZ_SRC:fuzz/%.c=$(BUILD)/fuzz/%)

# src/lib/ is held to -Wconversion as well (STYLE.md §33).
$(BUILD)/obj/src/lib/%.o $(BUILD)/asan/src/lib/%.o $(BUILD)/fuzz/obj/src/lib/%.o: WARN += -Wconversion

.PHONY: all check unit fuzz-smoke fuzz bench demo web clean deps-build deps-check deps-bench \
        install uninstall
all: deps-build $(PROGRAMS) web

deps-build:
	@bash scripts/deps.sh build
deps-check:
	@bash scripts/deps.sh check
deps-bench:
	@bash scripts/deps.sh bench

$(BUILD)/xapistat: $(OBJ)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/xapi-sim: $(SIM_OBJ) $(filter-out $(BUILD)/obj/src/main.o,$(OBJ))
	$(CC) $(CFLAGS) -o $@ $^ $(SIM_LDLIBS) $(LDLIBS)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(WARN) $(CFLAGS) -MMD -MP -c -o $@ $<

# Test build: the library under ASan + UBSan as an archive, so a test that
# #includes a .c (to reach its static functions) simply shadows that member.
$(BUILD)/asan/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(WARN) -O1 -g $(SAN) -MMD -MP -c -o $@ $<

$(BUILD)/asan/libxs.a: $(ASAN_OBJ)
	@rm -f $@
	ar rcs $@ $^

# xapistat itself under the sanitizers, for the command-line tests
$(BUILD)/asan/xapistat: $(BUILD)/asan/src/main.o $(BUILD)/asan/libxs.a
	$(CC) -O1 -g $(SAN) -o $@ $^ $(LDLIBS)

$(BUILD)/asan/libsim.a: $(SIM_ASAN_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/asan/xapi-sim: $(BUILD)/asan/sim/main.o $(BUILD)/asan/libsim.a $(BUILD)/asan/libxs.a
	$(CC) -O1 -g $(SAN) -o $@ $^ $(SIM_LDLIBS) $(LDLIBS)

$(BUILD)/asan/tests/%: tests/%.c $(BUILD)/asan/libxs.a
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Itests $(WARN) -O1 -g $(SAN) -MMD -MP -o $@ $< $(BUILD)/asan/libxs.a $(LDLIBS)

# tests of the simulator link its library first (a test may #include a sim .c to shadow it)
$(BUILD)/asan/tests/unit/sim/%: tests/unit/sim/%.c $(BUILD)/asan/libsim.a $(BUILD)/asan/libxs.a
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) -Itests $(WARN) -O1 -g $(SAN) -MMD -MP -o $@ $< $(BUILD)/asan/libsim.a \
		$(BUILD)/asan/libxs.a $(SIM_LDLIBS) $(LDLIBS) -lpthread

# libFuzzer targets (clang), the library rebuilt with clang and the same sanitizers.
# -fno-sanitize-recover=all as in SAN: without it UBSan only prints a finding and the
# run goes on and ends with status 0, so fuzz/run.sh would report "no crash".
FUZZ_SAN  := -fsanitize=address,undefined -fno-sanitize-recover=all
$(BUILD)/fuzz/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CLANG) $(CPPFLAGS) $(WARN) -O1 -g -fsanitize=fuzzer-no-link $(FUZZ_SAN) -MMD -MP -c -o $@ $<

# keep the objects between runs (make would delete them as intermediates)
.SECONDARY: $(FUZZ_OBJ)

# An archive, as for the tests: a target that #includes a src .c (to reach its static
# functions) shadows that member instead of clashing with it.
$(BUILD)/fuzz/libxs.a: $(FUZZ_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/fuzz/%: fuzz/%.c $(BUILD)/fuzz/libxs.a
	@mkdir -p $(@D)
	$(CLANG) $(CPPFLAGS) $(WARN) -O1 -g -fsanitize=fuzzer $(FUZZ_SAN) -MMD -MP -o $@ $< \
		$(BUILD)/fuzz/libxs.a $(LDLIBS)

unit: deps-check $(TESTS) $(PROGRAMS) $(BUILD)/asan/xapistat
	@bash tests/run.sh $(TESTS)

fuzz-smoke: deps-check $(FUZZERS)
	@bash fuzz/run.sh smoke $(FUZZERS)

# The build runs JOBS compilers at once and tests/run.sh JOBS tests at once (TEST_JOBS);
# JOBS=1 does both one at a time.
JOBS      ?= $(shell nproc 2>/dev/null || echo 1)
check: deps-check
	@$(MAKE) --no-print-directory -j$(JOBS) unit-and-fuzz

# The tests in the order they start: the slowest first within each kind (collect/collector
# waits about 4 minutes on real clocks), and the fuzz smoke runs (FUZZ_SMOKE_SECONDS
# each) last, one target a check, to fill the lanes.
SLOW_TESTS := $(filter %/collect/collector %/serve/api %/xapi/pool_client %/cmd/serve,$(TESTS))
.PHONY: unit-and-fuzz
unit-and-fuzz: $(TESTS) $(FUZZERS) $(PROGRAMS) $(BUILD)/asan/xapistat web/dist/index.html
	@TEST_JOBS=$${TEST_JOBS:-$(JOBS)} bash tests/run.sh $(SLOW_TESTS) $(filter-out $(SLOW_TESTS),$(TESTS)) \
		-- node --test tests/web/ -- python3 tests/e2e/api_test.py \
		-- bash tests/e2e/bench_build_test.sh -- bash scripts/lint.sh \
		-- python3 tests/e2e/install_test.py -- python3 tests/e2e/demo_test.py \
		-- bash tests/e2e/alerts_test.sh $(foreach f,$(FUZZERS),-- bash fuzz/run.sh smoke $(f))

fuzz: deps-check $(FUZZERS)
	@bash fuzz/run.sh long $(FUZZERS)

bench: deps-bench $(BUILD)/xapistat $(BUILD)/xapi-sim web
	@bash bench/rrd_readers.sh --write-docs
	@bash bench/sim_bench.sh --write-docs
	@bash bench/store_bench.sh --write-docs
	@bash bench/serve_bench.sh --write-docs
	@bash bench/api_bench.sh --write-docs
	@bash bench/web_bench.sh --write-docs

# The web UI: d3 and playwright-core from npm (web/package-lock.json), built into web/dist.
WEB_SRC := $(wildcard web/src/*) web/build.mjs
web/node_modules/.package-lock.json: web/package.json web/package-lock.json
	npm ci --prefix web --no-audit --no-fund
web/dist/index.html: web/node_modules/.package-lock.json $(WEB_SRC)
	node web/build.mjs
web: web/dist/index.html

demo: all
	@bash scripts/demo.sh

# `make install` (README "Running it as a service"): the binary, the web UI where the
# binary looks for it (PREFIX/share/xapistat/web), the systemd unit and its user, the
# example configuration and the docs. Nothing under /etc is written.
PREFIX      ?= /usr/local
BINDIR      := $(PREFIX)/bin
WEBDIR      := $(PREFIX)/share/xapistat/web
DOCDIR      := $(PREFIX)/share/doc/xapistat
UNITDIR     ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
install: $(BUILD)/xapistat web/dist/index.html
	install -D -m 0755 $(BUILD)/xapistat $(DESTDIR)$(BINDIR)/xapistat
	rm -rf $(DESTDIR)$(WEBDIR)
	mkdir -p $(DESTDIR)$(WEBDIR)
	cp -R web/dist/. $(DESTDIR)$(WEBDIR)/
	chmod -R u=rwX,go=rX $(DESTDIR)$(WEBDIR)
	mkdir -p $(DESTDIR)$(UNITDIR)
	sed -e 's|@BINDIR@|$(BINDIR)|g' -e 's|@DOCDIR@|$(DOCDIR)|g' dist/xapistat.service.in \
		> $(DESTDIR)$(UNITDIR)/xapistat.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/xapistat.service
	install -D -m 0644 dist/xapistat.sysusers $(DESTDIR)$(SYSUSERSDIR)/xapistat.conf
	install -D -m 0644 dist/xapistat.conf.example $(DESTDIR)$(DOCDIR)/xapistat.conf.example
	install -m 0644 README.md docs/API.md docs/CONFIG.md docs/STORE.md docs/prometheus-alerts.yml \
		$(DESTDIR)$(DOCDIR)/

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/xapistat $(DESTDIR)$(UNITDIR)/xapistat.service \
		$(DESTDIR)$(SYSUSERSDIR)/xapistat.conf
	rm -rf $(DESTDIR)$(WEBDIR) $(DESTDIR)$(DOCDIR)
	-rmdir $(DESTDIR)$(PREFIX)/share/xapistat 2>/dev/null

clean:
	rm -rf $(BUILD)

-include $(OBJ:.o=.d) $(ASAN_OBJ:.o=.d) $(SIM_OBJ:.o=.d) $(SIM_ASAN_OBJ:.o=.d) $(BUILD)/asan/src/main.d $(FUZZ_OBJ:.o=.d) $(TESTS:=.d) \
         $(FUZZERS:=.d)
