# nubo: thin wrapper over Meson + Ninja. `make run` and `make test` are the
# two commands a fresh Debian 12 machine needs; both install what is missing.

BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
PYTHON     ?= /usr/bin/python3
# Seconds each fuzz target runs under `make fuzz`; `make test` runs a short smoke.
FUZZ_SECONDS ?= 60

MESON_FLAGS := $(if $(filter true,$(CI)),-Dwerror=true,)
SAN_ENV := ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1 \
           UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

.PHONY: all deps build build-asan build-fuzz run test unit integration browser browser-deps lint \
	fuzz bench bench-scheduler clean guest-image

# The small test guest (Debian's cloud kernel and busybox) that VMs in tests boot.
guest-image: deps
	scripts/build-guest-image $(BUILD)/guest.qcow2

all: build

deps:
	@scripts/deps

build: deps
	@test -f $(BUILD)/build.ninja || meson setup $(BUILD) $(MESON_FLAGS)
	@ninja -C $(BUILD)

build-asan: deps
	@test -f $(ASAN_BUILD)/build.ninja || meson setup $(ASAN_BUILD) $(MESON_FLAGS) \
		-Dbuildtype=debug -Db_sanitize=address,undefined -Db_lundef=false \
		-Dc_args=-fno-sanitize-recover=all
	@ninja -C $(ASAN_BUILD)

build-fuzz: deps
	@test -f $(FUZZ_BUILD)/build.ninja || CC=clang meson setup $(FUZZ_BUILD) $(MESON_FLAGS) \
		-Dfuzz=true -Dbuildtype=debugoptimized -Db_lundef=false \
		-Dc_args='-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer' \
		-Dc_link_args='-fsanitize=address,undefined'
	@ninja -C $(FUZZ_BUILD)

run: build
	@scripts/run $(BUILD)

lint:
	@scripts/lint

unit: build build-asan
	meson test -C $(BUILD) --print-errorlogs
	$(SAN_ENV) meson test -C $(ASAN_BUILD) --print-errorlogs

integration: build build-asan
	NUBOD=$(CURDIR)/$(ASAN_BUILD)/nubod $(SAN_ENV) $(PYTHON) -m pytest -q tests/integration

# The web console in Debian's Chromium, driven by playwright-core (pinned in
# tests/browser/package-lock.json, installed from the npm registry by npm ci
# into tests/browser/node_modules when the lock file changes).
BROWSER_LOCK := tests/browser/node_modules/.package-lock.json
$(BROWSER_LOCK): tests/browser/package-lock.json tests/browser/package.json
	cd tests/browser && npm ci --no-audit --no-fund --loglevel=error

browser-deps: deps $(BROWSER_LOCK)

browser: build-asan browser-deps guest-image
	NUBOD=$(CURDIR)/$(ASAN_BUILD)/nubod NUBO_GUEST_IMAGE=$(CURDIR)/$(BUILD)/guest.qcow2 \
		$(SAN_ENV) node tests/browser/run.mjs

test: lint unit build-fuzz browser-deps guest-image
	scripts/fuzz --build $(FUZZ_BUILD) --smoke
	tests/guest/test-guest-image.sh
	NUBOD=$(CURDIR)/$(ASAN_BUILD)/nubod $(SAN_ENV) $(PYTHON) -m pytest -q tests/integration
	NUBOD=$(CURDIR)/$(ASAN_BUILD)/nubod NUBO_GUEST_IMAGE=$(CURDIR)/$(BUILD)/guest.qcow2 \
		$(SAN_ENV) node tests/browser/run.mjs

fuzz: build-fuzz
	scripts/fuzz --build $(FUZZ_BUILD) --seconds $(FUZZ_SECONDS)

bench: build
	bench/run $(BUILD)
	$(BUILD)/bench_scheduler
	$(BUILD)/bench_scheduler --pack

bench-scheduler: build
	$(BUILD)/bench_scheduler
	$(BUILD)/bench_scheduler --pack

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
