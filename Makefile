# gm: a Gearman-compatible job server and its shell tools.
#
# make            build everything (objects and binaries under $(O)/)
# make test       install missing packages, build, run every test twice
#                 (plain build, then AddressSanitizer + UBSan)
# make repeat SUITES="tests/43-x.bats ..." N=20 [TARGETS="gm gearmand"]
#                 [SAN=1] [JOBS=1]: run those suites N times in a row and
#                 list each test that ever failed, with how often
# make run        build and start gm-server in the foreground on port 4730
# make bench      gm-server against gearmand and a minimal FIFO server (the
#                 floor), side by side, each in turn (tests/bench/run.sh)
# make fuzz       libFuzzer campaign on every harness of tests/fuzz/ for
#                 FUZZ_SECONDS in all (default 600); make fuzz-stream runs
#                 the stream fuzzer against a live sanitizer build
# make install    PREFIX, DESTDIR, BINDIR, SBINDIR, MANDIR, LIBEXECDIR are
#                 honoured

PREFIX	?= /usr/local
BINDIR	?= $(PREFIX)/bin
SBINDIR	?= $(PREFIX)/sbin
MANDIR	?= $(PREFIX)/share/man
LIBEXECDIR ?= $(PREFIX)/libexec/gm
O	?= build

CC	?= cc
CFLAGS	?= -O2 -g
WARN	 = -std=c11 -Wall -Wextra -Wstrict-prototypes -Wmissing-prototypes \
	   -Wmissing-declarations -Wshadow -Wpointer-arith -Wcast-qual \
	   -Wsign-compare
PKGS	 = libevent libevent_pthreads libevent_openssl libssl libcrypto \
	   libbsd-overlay
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CPPFLAGS += -D_GNU_SOURCE -Icommon $(PKG_CFLAGS) -MMD -MP
LDLIBS	+= $(PKG_LIBS) -lpthread -lm

SAN_CFLAGS = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
	     -fno-sanitize-recover=undefined
# The libFuzzer harnesses: clang, every object instrumented, the fuzzer
# linked into the harness only.
FUZZ_CFLAGS = -O1 -g -fsanitize=fuzzer-no-link,address,undefined \
	      -fno-omit-frame-pointer -fno-sanitize-recover=undefined
FUZZ_SECONDS ?= 600

# Debian packages the build, the tests and the benchmark use.
DEB_PKGS = gcc make pkg-config libevent-dev libbsd-dev bats bats-assert \
	   bats-support gearman-job-server gearman-tools libgearman-dev \
	   libgearman-client-perl mandoc netcat-openbsd perl procps iproute2 \
	   php-cli php-gearman util-linux coreutils valgrind sqlite3 \
	   bash-completion libssl-dev openssl clang libclang-rt-14-dev \
	   prometheus chromium curl linux-perf strace

# Every folder in cmd/ is a program built from its .c files and libgm.a;
# gm-server goes to sbin, the others to bin.
PROGS	:= $(notdir $(wildcard cmd/*))
SPROGS	:= gm-server
LIB	:= $(O)/libgm.a
LIB_OBJS := $(patsubst %.c,$(O)/%.o,$(wildcard common/*.c))
UNIT_BINS := $(patsubst tests/unit/%.c,$(O)/tests/unit/%,\
	     $(wildcard tests/unit/test_*.c))
TOOL_BINS := $(patsubst tests/tools/%.c,$(O)/tests/tools/%,\
	     $(wildcard tests/tools/*.c))
BENCH_BINS := $(patsubst tests/bench/%.c,$(O)/tests/bench/%,\
	     $(wildcard tests/bench/*.c))
CLIENT_BINS := $(patsubst tests/clients/%.c,$(O)/tests/clients/%,\
	     $(wildcard tests/clients/*.c))
# The scripts of contrib/ that the pages run from $(LIBEXECDIR).
LIBEXEC_SCRIPTS := $(wildcard contrib/cron/* contrib/websync/*)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(O)/tests/fuzz/%,\
	     $(wildcard tests/fuzz/fuzz_*.c))

all: $(PROGS:%=$(O)/bin/%) $(UNIT_BINS) $(TOOL_BINS) $(BENCH_BINS) $(CLIENT_BINS)

define prog_rule
$(1)_OBJS := $$(patsubst %.c,$(O)/%.o,$$(wildcard cmd/$(1)/*.c))
$(O)/bin/$(1): $$($(1)_OBJS) $(LIB)
	@mkdir -p $$(@D)
	$$(CC) $$(CFLAGS) $$(LDFLAGS) -o $$@ $$($(1)_OBJS) $(LIB) $$(LDLIBS)
endef
$(foreach p,$(PROGS),$(eval $(call prog_rule,$(p))))

$(O)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(WARN) $(CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJS)
	@mkdir -p $(@D)
	$(AR) rcs $@ $^

# A unit test links libgm.a and, when it tests server code, the server
# objects listed in tests/unit/NAME.objs (paths of .c files, one a line).
unit_objs = $(patsubst %.c,$(O)/%.o,$(shell cat tests/unit/$(1).objs 2>/dev/null))

.SECONDEXPANSION:
.SECONDARY:
$(O)/tests/unit/%: $(O)/tests/unit/%.o $(LIB) $$(call unit_objs,$$*)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(call unit_objs,$*) $(LIB) $(LDLIBS)

$(O)/tests/tools/%: $(O)/tests/tools/%.o $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

# A bench program links its own object, the objects of tests/bench/gen/
# it names below, and libgm.a.
$(O)/tests/bench/gmbench: $(O)/tests/bench/gen/conn.o $(O)/tests/bench/gen/proc.o
$(O)/tests/bench/lgworker: $(O)/tests/bench/gen/proc.o
$(O)/tests/bench/lgworker: LDLIBS += -lgearman
$(O)/tests/bench/%: $(O)/tests/bench/%.o $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LIB) $(LDLIBS)

# A fuzz harness links libgm.a and the objects of the .c files listed in
# tests/fuzz/NAME.objs (one a line; a pattern such as cmd/gm-server/*.c
# names every server file but gm-server.c and config.c, whose main and
# options the harness replaces), all built with FUZZ_CFLAGS.
fuzz_objs = $(patsubst %.c,$(O)/%.o,$(filter-out cmd/gm-server/gm-server.c \
	    cmd/gm-server/config.c,\
	    $(wildcard $(shell cat tests/fuzz/$(1).objs 2>/dev/null))))
$(O)/tests/fuzz/%.o: CPPFLAGS += -Icmd/gm-server -Itests/fuzz
$(O)/tests/fuzz/%: $(O)/tests/fuzz/%.o $(LIB) $$(call fuzz_objs,$$*)
	$(CC) $(CFLAGS) -fsanitize=fuzzer $(LDFLAGS) -o $@ $< \
	    $(call fuzz_objs,$*) $(LIB) $(LDLIBS)

fuzz-bins: $(FUZZ_BINS)

# Compatibility clients on libgearman (the C library of gearmand).
$(O)/tests/clients/%: $(O)/tests/clients/%.o $(LIB)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) -lgearman $(LDLIBS)

# Install missing Debian packages (idempotent; quiet when nothing is missing).
deps:
	@missing=; for p in $(DEB_PKGS); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
	    grep -q '^install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	    echo "installing:$$missing"; \
	    sudo=; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	    $$sudo apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq \
	        --no-install-recommends $$missing </dev/null; \
	fi

san:
	$(MAKE) --no-print-directory O=build-san CFLAGS="$(SAN_CFLAGS)" all

fuzz-build:
	$(MAKE) --no-print-directory O=build-fuzz CC=clang \
	    CFLAGS="$(FUZZ_CFLAGS)" fuzz-bins

check: all
	$(MAKE) --no-print-directory O=build-san CFLAGS="$(SAN_CFLAGS)" all
	$(MAKE) --no-print-directory fuzz-build
	tests/run.sh

test: deps
	$(MAKE) --no-print-directory check

# make repeat: chosen suites N times in a row (tests/repeat.sh).
N	?= 10
TARGETS	?= gm gearmand
SAN	?= 0
JOBS	?= 2
repeat: all
	@[ "$(SAN)" = 0 ] || $(MAKE) --no-print-directory san
	GM_TARGETS="$(TARGETS)" GM_SAN=$(SAN) GM_JOBS=$(JOBS) \
	    tests/repeat.sh $(N) $(SUITES)

run: deps
	$(MAKE) --no-print-directory all
	@mkdir -p $(CURDIR)/var/journal
	exec $(O)/bin/gm-server -L 127.0.0.1 -p 4730 -l stderr \
	    --journal $(CURDIR)/var/journal

bench: deps
	$(MAKE) --no-print-directory all
	tests/bench/run.sh

# A campaign: each harness in turn, FUZZ_SECONDS shared among them.
fuzz: deps
	$(MAKE) --no-print-directory fuzz-build
	tests/fuzz/run.sh $(FUZZ_SECONDS)

# The stream fuzzer: random streams from a network namespace against the
# sanitizer build of gm-server, for FUZZ_SECONDS.
fuzz-stream: deps
	$(MAKE) --no-print-directory all
	$(MAKE) --no-print-directory O=build-san CFLAGS="$(SAN_CFLAGS)" all
	tests/fuzz/stream.sh $(FUZZ_SECONDS)

lint:
	mandoc -Tlint -W warning man/*.[0-9]

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man8 \
	    $(DESTDIR)$(LIBEXECDIR)
	for p in $(PROGS); do \
	    case " $(SPROGS) " in *" $$p "*) d=$(SBINDIR);; *) d=$(BINDIR);; esac; \
	    install -m 755 $(O)/bin/$$p $(DESTDIR)$$d/$$p; done
	for m in $(wildcard man/*.1); do install -m 644 $$m $(DESTDIR)$(MANDIR)/man1/; done
	for m in $(wildcard man/*.8); do install -m 644 $$m $(DESTDIR)$(MANDIR)/man8/; done
	for c in $(LIBEXEC_SCRIPTS); do install -m 755 $$c $(DESTDIR)$(LIBEXECDIR)/; done

uninstall:
	for p in $(PROGS); do rm -f $(DESTDIR)$(BINDIR)/$$p $(DESTDIR)$(SBINDIR)/$$p; done
	for m in $(notdir $(wildcard man/*.1)); do rm -f $(DESTDIR)$(MANDIR)/man1/$$m; done
	for m in $(notdir $(wildcard man/*.8)); do rm -f $(DESTDIR)$(MANDIR)/man8/$$m; done
	for c in $(notdir $(LIBEXEC_SCRIPTS)); do rm -f $(DESTDIR)$(LIBEXECDIR)/$$c; done

clean:
	rm -rf build build-san build-fuzz

.PHONY: all deps san check test repeat run bench lint install uninstall \
	clean fuzz fuzz-build fuzz-bins fuzz-stream

-include $(shell find $(O) -name '*.d' 2>/dev/null)
