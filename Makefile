# Makefile - the one, non-recursive build of q.  Run ./configure first.
#   make            build libq.a and the tools in bin/
#   make test       build, then run the prove suite (t/*.t)
#   make run        the main job on the embedded default model
#   make model      fetch the embedded default model into share/models/
#   make fuzz       build the libFuzzer targets (clang)
#   make bench      run the benchmark drivers in t/bench/
#   make install    install tools and man pages under $(PREFIX)

-include config.mk

PREFIX ?= /usr/local
CC ?= cc
OPT ?= -O2 -g
WERROR ?=
PROVE_JOBS ?= 2
CFLAGS = -std=c11 -D_GNU_SOURCE -Wall -Wextra $(WERROR) $(OPT) $(SANITIZE) $(CFLAGS_USER) -Ilib -Ikernels
LDFLAGS_ALL = $(SANITIZE) -rdynamic
LIBS ?= -lcjson -lsodium -lz -lpcre2-8 -lmicrohttpd -lcurl -lpthread -lm

TOOLS = $(sort $(basename $(notdir $(wildcard bin/q*.c))))
LIB_SRC = $(sort $(wildcard lib/*.c))
LIB_OBJ = $(LIB_SRC:.c=.o)
LIB_HDR = $(wildcard lib/*.h)
QK_SRC = $(sort $(wildcard kernels/*.c kernels/cpu/*.c))
QK_OBJ = $(QK_SRC:.c=.o)
QK_HDR = $(wildcard kernels/*.h kernels/cpu/*.h)
UNIT_SRC = $(sort $(wildcard t/unit/*.c))
UNIT_BIN = $(UNIT_SRC:.c=)
FUZZ_SRC = $(filter-out t/fuzz/replay.c,$(sort $(wildcard t/fuzz/*.c)))
FUZZ_REPLAY = $(FUZZ_SRC:.c=-replay)
FUZZ_BIN = $(FUZZ_SRC:.c=-fuzz)
MODEL = share/models/SmolLM2-135M-Instruct.Q4_1.gguf

all: config.mk $(addprefix bin/,$(TOOLS)) $(UNIT_BIN) $(FUZZ_REPLAY)

config.mk lib/config.h:
	@echo "Makefile: run ./configure first (./configure --install-deps installs what is missing)" >&2; exit 1

lib/%.o: lib/%.c $(LIB_HDR) lib/config.h
	$(CC) $(CFLAGS) -c $< -o $@

lib/libq.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $(LIB_OBJ)

# Kernels: files named *_avx2.c / *_avx512.c are compiled for that ISA and
# only called after a cpuid check (kernels/cpu/), everything else is portable.
kernels/%.o: kernels/%.c $(QK_HDR) lib/config.h
	$(CC) $(CFLAGS) $(QK_ISA) -c $< -o $@
kernels/cpu/%_avx2.o: QK_ISA = -mavx2 -mfma -mf16c
kernels/cpu/%_avx512.o: QK_ISA = -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512vnni -mavx512bf16 -mfma -mf16c

kernels/libqk.a: $(QK_OBJ)
	rm -f $@
	ar rcs $@ $(QK_OBJ)

LINK = lib/libq.a $(if $(QK_SRC),kernels/libqk.a)
bin/%: bin/%.c bin/cli.h $(LINK)
	$(CC) $(CFLAGS) $< -o $@ $(LINK) $(LDFLAGS_ALL) $(LIBS)

t/unit/%: t/unit/%.c $(wildcard t/unit/*.h) $(LINK)
	$(CC) $(CFLAGS) $< -o $@ $(LINK) $(LDFLAGS_ALL) $(LDFLAGS_UNIT) $(LIBS)
# engine-alloc counts the allocations libq and libqk make
t/unit/engine-alloc: LDFLAGS_UNIT = $(foreach f,malloc calloc realloc aligned_alloc posix_memalign,-Wl,--wrap=$(f))

# Each t/fuzz/NAME.c defines LLVMFuzzerTestOneInput.  NAME-replay runs it
# over files (the t8 tests replay the corpus); NAME-fuzz is the libFuzzer build.
t/fuzz/%-replay: t/fuzz/%.c t/fuzz/replay.c $(LINK)
	$(CC) $(CFLAGS) $< t/fuzz/replay.c -o $@ $(LINK) $(LDFLAGS_ALL) $(LIBS)

fuzz: $(FUZZ_BIN)
t/fuzz/%-fuzz: t/fuzz/%.c $(LIB_SRC) $(LIB_HDR) lib/config.h $(if $(QK_SRC),kernels/libqk.a)
	clang -std=c11 -D_GNU_SOURCE -O1 -g -Ilib -Ikernels -fsanitize=fuzzer,address,undefined $< $(LIB_SRC) -o $@ $(if $(QK_SRC),kernels/libqk.a) $(LIBS)

test: all
	prove -j$(PROVE_JOBS) t/

# the suite a sanitizer build runs: formats, tokenizers, kernels, the daemon, fuzz replays
unit: $(addprefix bin/,$(TOOLS)) $(UNIT_BIN) $(FUZZ_REPLAY)
	prove -j$(PROVE_JOBS) $(wildcard t/t0*.t t/t1*.t t/t4*.t t/t5*.t t/t8*.t)

model: $(MODEL)
$(MODEL):
	sh share/models/fetch-model $@

run: all $(MODEL)
	printf '%s\n' 'Hello, world! How are you today?' | bin/qtok -m $(MODEL) --json
	printf '%s\n' '{"messages":[{"role":"user","content":"What is the capital of France? Answer in one sentence."}]}' | bin/qtok -m $(MODEL) --chat --render
	bin/qgen -m $(MODEL) --chat -p 'What is the capital of France? Answer in one sentence.' -n 64 --temp 0

bench: all
	@for b in t/bench/*; do [ -x "$$b" ] && { echo "== $$b"; "$$b" || exit 1; }; done; true

install: all
	mkdir -p $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/q/models
	cp $(addprefix bin/,$(TOOLS)) $(DESTDIR)$(PREFIX)/bin/
	cp share/man/man1/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	if [ -f $(MODEL) ]; then cp $(MODEL) $(DESTDIR)$(PREFIX)/share/q/models/; fi

clean:
	rm -f lib/*.o lib/libq.a $(QK_OBJ) kernels/libqk.a $(addprefix bin/,$(TOOLS)) $(UNIT_BIN) $(FUZZ_REPLAY) $(FUZZ_BIN)

.PHONY: all test unit model run bench fuzz install clean
.SECONDARY:
