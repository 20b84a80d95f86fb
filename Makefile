# Jianlian build. `make` builds build/jianlian; `make run` and `make test` do
# every set-up step first (scripts/deps.sh), so they work on a fresh Debian.
#
#   make            build the server and the test binaries
#   make run        deps, build, generate a demo region if var/jianlian is empty, serve on 127.0.0.1:8080
#   make test       deps, build, every test (unit, HTTP, conformance, crash, small benches)
#   make test SAN=1 the same suite built with -fsanitize=address,undefined (in build/san)
#   make fuzz       build the libFuzzer targets (clang) and run each for FUZZ_SECONDS
#   make bench      the benchmarks at full size (BENCH_SIZE=small for CI size)

ifeq ($(SAN),1)
BUILD ?= build/san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
endif
BUILD ?= build

CC ?= cc
PKGS := libmicrohttpd sqlite3 zlib libzstd libutf8proc
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
OPT ?= -O2 -g
WARN := -Wall -Wextra -Wstrict-prototypes -Wshadow -Wno-unused-parameter -Werror
CFLAGS := -std=c17 -D_GNU_SOURCE $(OPT) $(WARN) -pthread -Isrc $(PKG_CFLAGS) $(SANFLAGS) $(EXTRA_CFLAGS)
LDFLAGS := -pthread $(SANFLAGS)
LDLIBS := $(PKG_LIBS) -lm

SRCS := $(shell find src -name '*.c' ! -path 'src/cli/main.c' | sort)
OBJS := $(SRCS:%.c=$(BUILD)/%.o)
LIB := $(BUILD)/libjl.a
BIN := $(BUILD)/jianlian

TEST_SRCS := $(shell find tests -name 'test_*.c' | sort)
TEST_BINS := $(TEST_SRCS:tests/%.c=$(BUILD)/tests/%)
BENCH_SRCS := $(shell find bench -name '*.c' | sort)
BENCH_BINS := $(BENCH_SRCS:bench/%.c=$(BUILD)/bench/%)

.PHONY: all run test deps unit http check-src fuzz bench clean gen-fhir

all: $(BIN) $(TEST_BINS) $(BENCH_BINS)

deps:
	@scripts/deps.sh

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

# The web console (tools/build_console.mjs, docs/console.md): page, ECharts bundles and county maps in
# one pack that src/web/assets.c embeds. CONSOLE_GEO: provinces whose prefecture maps ship ("53,44", "all").
CONSOLE_GEO ?= 53
WEB_PACK := $(BUILD)/web/assets.pack
$(WEB_PACK): tools/build_console.mjs $(wildcard src/web/*.js src/web/*.html src/web/*.css) package-lock.json
	node tools/build_console.mjs $(BUILD)/web $(CONSOLE_GEO)
$(BUILD)/src/web/assets.o: $(WEB_PACK)
$(BUILD)/src/web/assets.o: CFLAGS += -DJL_WEB_PACK='"$(WEB_PACK)"'

$(LIB): $(OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BIN): $(BUILD)/src/cli/main.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests -MMD -MP -o $@ $< $(LIB) $(LDFLAGS) $(LDLIBS) -lcmocka

$(BUILD)/bench/%: bench/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -o $@ $< $(LIB) $(LDFLAGS) $(LDLIBS)

run: deps
	@$(MAKE) --no-print-directory $(BIN)
	@tools/demo.sh $(BIN) var/jianlian

test: deps
	@$(MAKE) --no-print-directory all
	@scripts/test.sh $(BUILD)

unit: all
	@scripts/test.sh $(BUILD) unit

check-src:
	@scripts/check-src.sh

fuzz: deps
	@scripts/fuzz.sh

bench: deps
	@$(MAKE) --no-print-directory all
	@scripts/bench.sh $(BUILD)

gen-fhir:
	node tools/gen_fhir_defs.mjs

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
