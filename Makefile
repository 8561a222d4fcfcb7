# quarterhour: one entry point. `make` builds bin/, `make test` builds the
# sanitizer binaries under build/asan/ and runs unit, fuzz and end-to-end
# tests, `make demo` runs a real session, `make bench` measures, `make fuzz`
# runs every fuzz target for FUZZ_SECONDS, `make soak` the long campaigns
# (tests/soak/), `make fresh-check` runs `make demo` and `make test` in a
# fresh Debian 12 chroot.

PKGS     := libuv openssl libssh2 sqlite3 inih zlib libjpeg
# The agent's X11 capture backend (agent/posix/screen_x11.c).
AGENT_PKGS := xcb xcb-shm xcb-xfixes xcb-xtest xcb-randr xcb-damage
# Libraries only qh-console links (the admin part's backups, the daemon's mail,
# the render part's statements, the web console).
CONSOLE_PKGS := libarchive libcurl cairo libwebsockets
DEPS_OK  := build/.deps-ok
CC       ?= cc
FUZZ_SECONDS ?= 60

# Packages first: pkg-config itself may be what is missing.
ifeq ($(filter clean format format-check fresh-check,$(MAKECMDGOALS)),)
$(shell mkdir -p build)
# The stamp holds the set-up script's checksum: a package added to the script
# later is installed on machines that built before.
# SKIP_DEPS=1 (debian/rules) skips it: a package build has its
# dependencies from debian/control.
ifeq ($(SKIP_DEPS),)
DEPS_SUM    := $(shell cksum < scripts/deps.sh)
DEPS_STATUS := $(shell [ "$$(cat $(DEPS_OK) 2>/dev/null)" = "$(DEPS_SUM)" ] || { sh scripts/deps.sh >&2 && echo "$(DEPS_SUM)" > $(DEPS_OK); }; [ "$$(cat $(DEPS_OK) 2>/dev/null)" = "$(DEPS_SUM)" ] && echo ok)
ifneq ($(DEPS_STATUS),ok)
$(error missing Debian packages; see the line above)
endif
endif
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) $(AGENT_PKGS) $(CONSOLE_PKGS))
PKG_LIBS   := $(shell pkg-config --libs $(PKGS)) -lutil -lm
AGENT_PKG_LIBS := $(shell pkg-config --libs $(AGENT_PKGS))
CONSOLE_PKG_LIBS := $(shell pkg-config --libs $(CONSOLE_PKGS))
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)
endif

WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
# The version both programs print: the Debian changelog's, with the commit.
VERSION  := $(shell sed -n '1s/.*(\(.*\)).*/\1/p' debian/changelog)$(shell git rev-parse --short HEAD 2>/dev/null | sed 's/^/+g/')
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -Iinclude -Iconsole -Iagent $(WARN) $(PKG_CFLAGS)

BUILD    ?= build/release
MODE_CFLAGS ?= -O2 -g
MODE_LDFLAGS ?=
CFLAGS_ALL := $(BASE_CFLAGS) $(MODE_CFLAGS)

COMMON_SRC  := $(wildcard common/*.c)
STORE_SRC   := $(wildcard console/store/*.c)
DAEMON_SRC  := $(shell find console/daemon -name '*.c' | sort)
ADMIN_SRC   := $(shell find console/admin -name '*.c' | sort)
TECH_SRC    := $(shell find console/tech -name '*.c' | sort)
WEB_SRC     := $(wildcard console/web/*.c)
RENDER_SRC  := $(shell find console/render -name '*.c' | sort)
DESK_SRC    := $(wildcard console/desk/*.c)
AGENT_SRC   := $(wildcard agent/*.c agent/posix/*.c)
# tests/tools/win_*.c are Windows programs (scripts/windows-smoke.sh, win_research.sh).
TOOL_SRC    := $(filter-out tests/tools/win_%.c,$(wildcard tests/tools/*.c))
UNIT_SRC    := $(wildcard tests/unit/test_*.c)
FUZZ_SRC    := $(wildcard tests/fuzz/fuzz_*.c)
SQL_SRC     := $(wildcard console/store/*.sql)

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))

# The console's parts, each an archive (docs/architecture.md): the store
# links SQLite and libqh only; the others build on it.
LIBQH       := $(BUILD)/libqh.a
LIBSTORE    := $(BUILD)/libqhstore.a
LIBDAEMON   := $(BUILD)/libqhdaemon.a
LIBADMIN    := $(BUILD)/libqhadmin.a
LIBTECH     := $(BUILD)/libqhtech.a
LIBWEB      := $(BUILD)/libqhweb.a
LIBRENDER   := $(BUILD)/libqhrender.a
LIBDESK     := $(BUILD)/libqhdesk.a
LIBAGENT    := $(BUILD)/libqhagent.a
CONSOLE_LIBS := $(LIBDESK) $(LIBDAEMON) $(LIBADMIN) $(LIBWEB) $(LIBTECH) $(LIBRENDER) $(LIBSTORE) $(LIBQH)
AGENT_OBJ   := $(call obj,$(AGENT_SRC))

.PHONY: po-update all release asan test unit e2e fuzz fuzz-build demo bench bench-bins clean format format-check install deb depcheck windows win-exe windows-tools screenshots fresh-check soak
.DEFAULT_GOAL := all

all: release

# The release build's flags; debian/rules gives Debian's hardening flags.
RELEASE_CFLAGS  ?= -O2 -g
RELEASE_LDFLAGS ?=

release:
	@$(MAKE) --no-print-directory BUILD=build/release MODE_CFLAGS="$(RELEASE_CFLAGS)" \
	    MODE_LDFLAGS="$(RELEASE_LDFLAGS)" bins
	@mkdir -p bin
	@cp -f build/release/bin/qh-console build/release/bin/qh-agent bin/

asan:
	@$(MAKE) --no-print-directory BUILD=build/asan \
	    MODE_CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	    MODE_LDFLAGS="-fsanitize=address,undefined" bins tools units

bins: $(BUILD)/bin/qh-console $(BUILD)/bin/qh-agent
tools: $(TOOL_SRC:tests/tools/%.c=$(BUILD)/bin/%)
units: $(UNIT_SRC:tests/unit/%.c=$(BUILD)/unit/%)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@

# Only the CLI carries the version, so a new commit rebuilds one file.
$(BUILD)/common/cli.o: common/cli.c $(BUILD)/version.stamp
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	@$(CC) $(CFLAGS_ALL) -DQH_VERSION='"$(VERSION)"' -MMD -MP -c $< -o $@

$(BUILD)/version.stamp: FORCE
	@mkdir -p $(dir $@)
	@[ "$$(cat $@ 2>/dev/null)" = "$(VERSION)" ] || echo "$(VERSION)" > $@

FORCE:

# The schema is embedded as a C string, so the binary carries its own migrations.
$(BUILD)/%.sql.c: %.sql
	@mkdir -p $(dir $@)
	@name=$$(basename $< .sql | tr -c 'a-zA-Z0-9_\n' _); \
	{ echo "/* generated from $< */"; echo "const char qh_sql_$${name}[] ="; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' $<; echo ";"; } > $@

$(BUILD)/%.sql.o: $(BUILD)/%.sql.c
	@$(CC) $(CFLAGS_ALL) -c $< -o $@

define archive
	@rm -f $@
	@echo "  AR      $@"
	@ar rcs $@ $^
endef

# Texts: po/LANG.po, checked by msgfmt, compiled into a table in libqh.
PO_LANGS    := de
TEXT_GEN    := $(PO_LANGS:%=$(BUILD)/gen/text_%.c)
TEXT_OBJ    := $(TEXT_GEN:%.c=%.o)

build/po/%.mo: po/%.po
	@mkdir -p $(dir $@)
	@msgfmt --check --statistics -o $@ $< 2>/dev/null || { msgfmt --check -o $@ $<; exit 1; }

$(BUILD)/gen/text_%.c: build/po/%.mo scripts/mo2c.py
	@mkdir -p $(dir $@)
	@python3 scripts/mo2c.py $* $< > $@.tmp && mv $@.tmp $@

$(BUILD)/gen/text_%.o: $(BUILD)/gen/text_%.c
	@$(CC) $(CFLAGS_ALL) -Icommon -c $< -o $@

$(LIBQH): $(call obj,$(COMMON_SRC)) $(TEXT_OBJ)
	$(archive)

# The catalogue's template and the translations, from the sources' _() and N_():
# new texts come in untranslated, texts gone from the sources go.
po-update:
	sh scripts/po-extract.sh po/quarterhour.pot
	for l in $(PO_LANGS) en; do msgmerge --quiet --update --backup=none --no-location \
	    --sort-output po/$$l.po po/quarterhour.pot && \
	    msgattrib --no-obsolete --sort-output -o po/$$l.po po/$$l.po || exit 1; done
$(LIBSTORE): $(call obj,$(STORE_SRC)) $(SQL_SRC:%.sql=$(BUILD)/%.sql.o)
	$(archive)
$(LIBDAEMON): $(call obj,$(DAEMON_SRC))
	$(archive)
$(LIBADMIN): $(call obj,$(ADMIN_SRC))
	$(archive)
$(LIBTECH): $(call obj,$(TECH_SRC))
	$(archive)
$(LIBRENDER): $(call obj,$(RENDER_SRC))
	$(archive)
$(LIBDESK): $(call obj,$(DESK_SRC))
	$(archive)

# The web console's pages, compiled in: ours (console/web/www) and the
# vendored xterm.js, noVNC and asciinema-player, every file that SHA256SUMS
# lists but the licences, checked first (console/web/vendor),
# and texts.js, the pages' German texts from po/de.po.
WEB_WWW     := $(wildcard console/web/www/*)
WEB_VENDOR  := $(filter-out LICENSE.%,$(shell cut -c67- console/web/vendor/SHA256SUMS))
$(BUILD)/gen/web_assets.c: $(WEB_WWW) $(WEB_VENDOR:%=console/web/vendor/%) console/web/vendor/SHA256SUMS \
    scripts/web2c.py scripts/web-texts.py build/po/de.mo
	@mkdir -p $(dir $@)
	@cd console/web/vendor && sha256sum --quiet -c SHA256SUMS
	@python3 scripts/web-texts.py build/po/de.mo $(WEB_WWW) > $(BUILD)/gen/texts.js
	@python3 scripts/web2c.py $(foreach f,$(WEB_WWW),/$(notdir $(f))=$(f)) \
	    /texts.js=$(BUILD)/gen/texts.js \
	    $(foreach f,$(WEB_VENDOR),/vendor/$(f)=console/web/vendor/$(f)) > $@.tmp && mv $@.tmp $@
$(BUILD)/gen/web_assets.o: $(BUILD)/gen/web_assets.c
	@$(CC) $(CFLAGS_ALL) -c $< -o $@
$(LIBWEB): $(call obj,$(WEB_SRC)) $(BUILD)/gen/web_assets.o
	$(archive)

$(BUILD)/bin/qh-console: $(BUILD)/console/main.o $(BUILD)/console/dispatch.o \
    $(BUILD)/console/route.o $(BUILD)/console/statement.o $(CONSOLE_LIBS)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) $(MODE_LDFLAGS) -o $@ $^ $(CONSOLE_PKG_LIBS) $(PKG_LIBS)

$(BUILD)/bin/qh-agent: $(BUILD)/agent/main.o $(LIBAGENT) $(LIBQH)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	@$(CC) $(MODE_LDFLAGS) -o $@ $^ $(PKG_LIBS) $(AGENT_PKG_LIBS)

$(LIBAGENT): $(filter-out $(BUILD)/agent/main.o,$(AGENT_OBJ))
	$(archive)

# Test tools take what they use from the agent's archive and libqh.
$(BUILD)/bin/%: $(BUILD)/tests/tools/%.o $(LIBAGENT) $(LIBQH)
	@mkdir -p $(dir $@)
	@$(CC) $(MODE_LDFLAGS) -o $@ $^ $(PKG_LIBS) $(AGENT_PKG_LIBS)

# The Windows agent's plain-C pieces (agent/win32/portable.h), compiled
# natively too so that their unit tests run here.
WINPORT_SRC := agent/win32/winquote.c agent/win32/winpath.c agent/win32/regfacts.c
LIBWINPORT  := $(BUILD)/libqhwinport.a

$(LIBWINPORT): $(call obj,$(WINPORT_SRC))
	$(archive)

# Unit tests link the part they test and what that part may use, nothing
# more: the store's tests prove the store stands without the daemon.
UNIT_STORE  := test_calendar test_config test_due test_ledger test_outbox
UNIT_DAEMON := test_meter test_limit test_record test_mail
UNIT_TECH   := test_escape
UNIT_AGENT  := test_rfb test_rfb_enc
UNIT_WIN    := test_winargs test_regfacts
unit_libs = $(if $(filter $(1),$(UNIT_STORE)),$(LIBSTORE),$(if $(filter $(1),$(UNIT_DAEMON)),$(LIBDAEMON) $(LIBSTORE),$(if $(filter $(1),$(UNIT_TECH)),$(LIBTECH),$(if $(filter $(1),$(UNIT_AGENT)),$(LIBAGENT),$(if $(filter $(1),$(UNIT_WIN)),$(LIBWINPORT))))))

.SECONDEXPANSION:
$(BUILD)/unit/%: $(BUILD)/tests/unit/%.o $$(call unit_libs,$$*) $(LIBQH)
	@mkdir -p $(dir $@)
	@$(CC) $(MODE_LDFLAGS) -o $@ $^ $(CONSOLE_PKG_LIBS) $(PKG_LIBS) $(AGENT_PKG_LIBS) $(CMOCKA_LIBS)

# Fuzz targets: clang + libFuzzer. The common sources are compiled once with
# coverage instrumentation into a library each target links.
FUZZ_SAN    := -fsanitize=address,undefined
FUZZ_CFLAGS := $(BASE_CFLAGS) -O1 -g $(FUZZ_SAN) -Wno-missing-prototypes
# The agent's RFB server (no I/O, no X11) and the desktop helper's greeting are
# fuzzed too.
FUZZ_AGENT_SRC := $(wildcard agent/rfb*.c) agent/helpergreet.c
# And the web console's parsers: the pages' WebSocket messages and ticket requests.
FUZZ_WEB_SRC := console/web/wsmsg.c console/web/deskreq.c
FUZZ_OBJ    := $(COMMON_SRC:%.c=build/fuzz/obj/%.o) $(FUZZ_AGENT_SRC:%.c=build/fuzz/obj/%.o) \
    $(FUZZ_WEB_SRC:%.c=build/fuzz/obj/%.o)
fuzz-build: $(FUZZ_SRC:tests/fuzz/%.c=build/fuzz/%)

build/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

# libqh's texts (common/text.c looks them up): the generated tables.
FUZZ_OBJ    += $(PO_LANGS:%=build/fuzz/obj/gen/text_%.o)

build/fuzz/obj/gen/text_%.o: build/release/gen/text_%.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -Icommon -fsanitize=fuzzer-no-link -c $< -o $@

build/fuzz/libqh-fuzz.a: $(FUZZ_OBJ)
	@rm -f $@
	ar rcs $@ $^

build/fuzz/%: tests/fuzz/%.c build/fuzz/libqh-fuzz.a
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< build/fuzz/libqh-fuzz.a $(PKG_LIBS)

# The daemon's check of a report request's words is pure; its target links it.
build/fuzz/fuzz_account: tests/fuzz/fuzz_account.c console/daemon/account_words.c build/fuzz/libqh-fuzz.a
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< console/daemon/account_words.c build/fuzz/libqh-fuzz.a $(PKG_LIBS)

# The accounting pages' queries: accepted by the console's own check of the words.
build/fuzz/fuzz_webreport: tests/fuzz/fuzz_webreport.c console/web/report_words.c console/daemon/account_words.c build/fuzz/libqh-fuzz.a
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< console/web/report_words.c console/daemon/account_words.c build/fuzz/libqh-fuzz.a $(PKG_LIBS)

fuzz: fuzz-build
	@sh tests/fuzz/run.sh $(FUZZ_SECONDS)

# The long campaigns (issue 10), not part of make test: every
# tests/soak/NN-*.sh in order within SOAK_MINUTES (default 60).
soak: release asan fuzz-build
	@sh tests/soak/run.sh

# The Windows tests (tests/e2e/test_win_*.sh) run dist/qh-agent.exe under Wine.
test: asan fuzz-build windows windows-tools
	@sh tests/run.sh

demo: release
	@sh scripts/demo.sh

# The README's two commands on a fresh Debian 12 (a debootstrap chroot; root).
fresh-check:
	@sh scripts/fresh-check.sh

BENCH_SRC := $(wildcard bench/bench_*.c) bench/agents.c

bench: release
	@$(MAKE) --no-print-directory BUILD=build/release MODE_CFLAGS="-O2 -g" bench-bins
	@sh bench/run.sh

bench-bins: $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

$(BUILD)/bench/%: $(BUILD)/bench/%.o $(CONSOLE_LIBS) $(LIBAGENT) $(LIBQH)
	@mkdir -p $(dir $@)
	@$(CC) $(MODE_LDFLAGS) -o $@ $+ $(CONSOLE_PKG_LIBS) $(PKG_LIBS) $(AGENT_PKG_LIBS)

# The Windows agent: dist/qh-agent.exe, cross-built with mingw-w64 against
# the static libraries scripts/windows-libs.sh builds from Debian's source
# packages (cached outside the clone; it prints their versions), linked
# statically into one console-subsystem exe. SIGN_CERT and SIGN_KEY (PEM)
# sign it with osslsigncode.
WIN_HOST    := x86_64-w64-mingw32
WIN_BUILD   := build/win
WIN_EXE     := dist/qh-agent.exe
WIN_AGENT_SRC := $(wildcard agent/*.c agent/win32/*.c)
WIN_SRC     := $(COMMON_SRC) $(WIN_AGENT_SRC)
WIN_OBJ     := $(WIN_SRC:%.c=$(WIN_BUILD)/%.o) $(PO_LANGS:%=$(WIN_BUILD)/gen/text_%.o)
# mingw's format(printf) checks msvcrt's printf, not the C99 one that
# __USE_MINGW_ANSI_STDIO gives us; the native build checks the formats.
WIN_CFLAGS  = -std=c11 -O2 -D_GNU_SOURCE -DWIN32_LEAN_AND_MEAN -D_WIN32_WINNT=0x0A00 \
	-D_POSIX_THREAD_SAFE_FUNCTIONS -D__USE_MINGW_ANSI_STDIO=1 -DQH_VERSION='"$(VERSION)"' \
	-Iinclude -Iconsole -Iagent -isystem agent/win32/compat -I$(WIN_PREFIX)/include \
	$(WARN) -Wno-format
WIN_LIBS    = -L$(WIN_PREFIX)/lib -luv -lssl -lcrypto -linih \
	-ljpeg -lz -lws2_32 -liphlpapi -luserenv -lwtsapi32 -ldbghelp -lole32 -lshell32 -lcrypt32 \
	-luser32 -lgdi32 -lcomctl32 -ladvapi32 -lwinspool -lbcrypt -luuid -lpthread

windows:
	@prefix=$$(sh scripts/windows-libs.sh) && \
	$(MAKE) --no-print-directory WIN_PREFIX="$$prefix" win-exe

# What the Windows end-to-end tests drive the window with.
windows-tools: $(WIN_BUILD)/win_uitool.exe

$(WIN_BUILD)/win_uitool.exe: tests/tools/win_uitool.c
	@mkdir -p $(dir $@)
	@$(WIN_HOST)-gcc -O2 -Wall -Wextra -static -o $@ $< -luser32

win-exe: $(WIN_BUILD)/qh-agent.exe
	@mkdir -p dist
	@if [ -n "$(SIGN_CERT)" ]; then \
		rm -f $(WIN_EXE).tmp && \
		osslsigncode sign -certs "$(SIGN_CERT)" -key "$(SIGN_KEY)" \
		    -n "quarterhour agent" -h sha256 -in $< -out $(WIN_EXE).tmp >/dev/null && \
		mv $(WIN_EXE).tmp $(WIN_EXE) && echo "  SIGN    $(WIN_EXE)"; \
	else cp -f $< $(WIN_EXE); fi
	@echo "  EXE     $(WIN_EXE) ($$(wc -c <$(WIN_EXE)) bytes)"

$(WIN_BUILD)/gen/text_%.o: build/release/gen/text_%.c
	@mkdir -p $(dir $@)
	@$(WIN_HOST)-gcc $(WIN_CFLAGS) -Icommon -c $< -o $@

build/release/gen/text_%.c: build/po/%.mo scripts/mo2c.py
	@mkdir -p $(dir $@)
	@python3 scripts/mo2c.py $* $< > $@.tmp && mv $@.tmp $@

$(WIN_BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC      $< (windows)"
	@$(WIN_HOST)-gcc $(WIN_CFLAGS) -MMD -MP -c $< -o $@

$(WIN_BUILD)/qh-agent.res.o: agent/win32/qh-agent.rc agent/win32/qh-agent.manifest
	@mkdir -p $(dir $@)
	@$(WIN_HOST)-windres -I agent/win32 -O coff $< -o $@

$(WIN_BUILD)/qh-agent.exe: $(WIN_OBJ) $(WIN_BUILD)/qh-agent.res.o
	@echo "  LD      $@"
	@$(WIN_HOST)-gcc -static -municode -s -o $@ $^ $(WIN_LIBS)

# The window's screenshots that test_win_window.sh took, for the README.
screenshots:
	@ls build/screenshots/*.png >/dev/null 2>&1 || \
	    { echo "no screenshots: make test (or sh tests/e2e/test_win_window.sh) takes them" >&2; exit 1; }
	@mkdir -p docs/screenshots
	@cp build/screenshots/*.png docs/screenshots/
	@ls docs/screenshots

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	@clang-format --dry-run -Werror $$(git ls-files '*.c' '*.h')

# `make install [PREFIX=/usr/local] [DESTDIR=]`: the programs, their man pages
# and the systemd units, whose ExecStart names BINDIR.
PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
MANDIR  ?= $(PREFIX)/share/man
UNITDIR ?= $(PREFIX)/lib/systemd/system
UNITS   := qh-console.service qh-agent.service

install: release
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(UNITDIR)
	install -m 0755 bin/qh-console bin/qh-agent $(DESTDIR)$(BINDIR)/
	install -m 0644 docs/qh-console.1 docs/qh-agent.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 docs/qh-console.conf.5 $(DESTDIR)$(MANDIR)/man5/
	for u in $(UNITS); do \
		sed 's|@BINDIR@|$(BINDIR)|g' systemd/$$u.in > $(DESTDIR)$(UNITDIR)/$$u && \
		chmod 0644 $(DESTDIR)$(UNITDIR)/$$u || exit 1; \
	done

# `make deb`: quarterhour-console and quarterhour-agent, built with debhelper
# in a copy of the tree under build/deb/ and checked by lintian.
deb:
	@sh scripts/deb.sh

clean:
	rm -rf build bin

-include $(shell find build -name '*.d' 2>/dev/null)
