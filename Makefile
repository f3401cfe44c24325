# deadlined: build, test, run, install.  See README.md.
PREFIX ?= /usr/local
SYSCONFDIR ?= /etc
UNITDIR ?= /lib/systemd/system
DESTDIR ?=
CC ?= cc
ASAN ?= 0

# Debian bookworm packages this project needs to build and test (installed by `make deps`).
DEB_PKGS := gcc make pkg-config libical-dev libcurl4-openssl-dev libiniparser-dev \
	libsystemd-dev libmicrohttpd-dev libsqlite3-dev libjansson-dev libcsv-dev libssl-dev \
	zlib1g-dev libcmocka-dev python3 python3-aiosmtpd python3-icalendar curl systemd \
	tzdata strace valgrind clang libclang-rt-14-dev faketime libfaketime util-linux

PKGS := libical libcurl libsystemd libmicrohttpd sqlite3 jansson libcrypto zlib

ifeq ($(ASAN),1)
BUILD ?= build-asan
# The test build also carries the fault-injection hooks (DEADLINED_FAULT=...).
OPT := -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all \
	-DDEADLINED_FAULTS
LDSAN := -fsanitize=address,undefined
else
BUILD ?= build
OPT := -O2
LDSAN :=
endif

WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes \
	-Wno-unused-parameter -Wvla -Wpointer-arith -Wundef
CFLAGS ?= -g
override CFLAGS += -std=c17 -D_GNU_SOURCE $(OPT) $(WARN) -D_FORTIFY_SOURCE=2 \
	-fstack-protector-strong -fPIE -Iinclude -I/usr/include/iniparser \
	$(shell pkg-config --cflags $(PKGS) 2>/dev/null) -MMD -MP
override LDFLAGS += $(LDSAN) -pie -Wl,-z,relro,-z,now
LDLIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -liniparser -lcsv -lm

# src/ is grouped by layer (base, core, config, serve, deliver, cli); see README, Layout.
LAYERS := base core config serve deliver cli
SRCS := $(sort $(foreach l,$(LAYERS),$(wildcard src/$(l)/*.c)))
LIB_SRCS := $(filter-out src/cli/main.c,$(SRCS))
LIB_OBJS := $(LIB_SRCS:src/%.c=$(BUILD)/obj/%.o)
UNIT_SRCS := $(sort $(wildcard tests/unit/test-*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: FORCE all deps test run install uninstall clean unit-bins print-cflags print-libs
all: $(BUILD)/deadlined

# Objects depend on the flags too, so switching ASAN or CFLAGS rebuilds them.
$(BUILD)/flags: FORCE | $(BUILD)/obj
	@echo '$(CC) $(CFLAGS) $(LDFLAGS)' | cmp -s - $@ || echo '$(CC) $(CFLAGS) $(LDFLAGS)' > $@
$(BUILD)/obj/%.o: src/%.c $(BUILD)/flags | $(BUILD)/obj
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<
$(BUILD)/obj/test-%.o: tests/unit/test-%.c $(BUILD)/flags | $(BUILD)/obj
	$(CC) $(CFLAGS) -Itests/unit -c -o $@ $<
$(BUILD)/libdeadlined.a: $(LIB_OBJS)
	rm -f $@ && ar rcs $@ $^
$(BUILD)/deadlined: $(BUILD)/obj/cli/main.o $(BUILD)/libdeadlined.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BUILD)/tests/test-%: $(BUILD)/obj/test-%.o $(BUILD)/libdeadlined.a | $(BUILD)/tests
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka
$(BUILD)/obj $(BUILD)/tests:
	mkdir -p $@
unit-bins: $(UNIT_BINS)

# Install only what is missing; apt-get as root, else through sudo.
deps:
	@missing=""; for p in $(DEB_PKGS); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends $$missing; \
	fi

# Everything: the normal build (unit + integration), then ASan+UBSan (unit + integration).
test: deps
	$(MAKE) --no-print-directory all unit-bins conf/school.token
	$(MAKE) --no-print-directory ASAN=1 all unit-bins
	tests/run.sh build build-asan

# The default configuration's private feed needs a token: made once, never committed.
conf/school.token:
	$(MAKE) --no-print-directory all
	umask 077 && ./$(BUILD)/deadlined token > $@.tmp && mv $@.tmp $@

# The daemon in the foreground on the default configuration: feeds at
# http://127.0.0.1:8025/, reminders written to conf/state/outbox/ (no [smtp]).
run: deps
	$(MAKE) --no-print-directory all conf/school.token
	./$(BUILD)/deadlined -c conf/deadlined.conf check
	./$(BUILD)/deadlined -c conf/deadlined.conf agenda
	exec ./$(BUILD)/deadlined -c conf/deadlined.conf run

# The example configuration goes to /etc/deadlined only where nothing is there
# yet: an existing configuration is never overwritten.
ETC := $(DESTDIR)$(SYSCONFDIR)/deadlined
install: all
	install -D -m 0755 $(BUILD)/deadlined $(DESTDIR)$(PREFIX)/bin/deadlined
	install -d $(DESTDIR)$(UNITDIR) $(DESTDIR)$(PREFIX)/share/man/man8 \
		$(DESTDIR)$(PREFIX)/share/man/man5 $(ETC)/conf.d
	sed 's#/usr/local/bin/deadlined#$(PREFIX)/bin/deadlined#' units/deadlined.service \
		> $(DESTDIR)$(UNITDIR)/deadlined.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/deadlined.service
	install -m 0644 units/deadlined.socket $(DESTDIR)$(UNITDIR)/deadlined.socket
	install -m 0644 man/deadlined.8 $(DESTDIR)$(PREFIX)/share/man/man8/deadlined.8
	install -m 0644 man/deadlined.conf.5 $(DESTDIR)$(PREFIX)/share/man/man5/deadlined.conf.5
	@for f in deadlined.conf roster.csv $(notdir $(wildcard conf/conf.d/*.conf)); do \
		src=conf/$$f; dst=$(ETC)/$$f; \
		case $$f in *.conf) [ -f conf/conf.d/$$f ] && src=conf/conf.d/$$f && dst=$(ETC)/conf.d/$$f;; esac; \
		if [ -e $$dst ]; then echo "keeping existing $$dst"; \
		else install -m 0644 $$src $$dst && echo "installed $$dst"; fi; \
	done
	@if [ ! -e $(ETC)/school.token ]; then \
		(umask 077 && $(BUILD)/deadlined token > $(ETC)/school.token) && \
		echo "created $(ETC)/school.token (a new feed token)"; fi

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/deadlined $(DESTDIR)$(UNITDIR)/deadlined.service \
		$(DESTDIR)$(UNITDIR)/deadlined.socket $(DESTDIR)$(PREFIX)/share/man/man8/deadlined.8 \
		$(DESTDIR)$(PREFIX)/share/man/man5/deadlined.conf.5
	@echo "$(SYSCONFDIR)/deadlined is left in place (it holds your configuration)"

clean:
	rm -rf build build-asan tests/tmp

# Benchmarks (bench/bench.mk: make bench) and fuzzers (tests/fuzz/fuzz.mk: make fuzz).
-include bench/bench.mk
-include tests/fuzz/fuzz.mk

-include $(wildcard $(BUILD)/obj/*.d $(BUILD)/obj/*/*.d)

# For compiling a single test by hand while other modules are in progress.
print-cflags:
	@echo $(CFLAGS)
print-libs:
	@echo $(LDFLAGS) $(LDLIBS)
