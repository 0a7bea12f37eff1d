# AutoMatrix developer commands. `make run` needs the Rust toolchain and Node.js (npm) to
# build the web UI; `make test` also needs Debian's `chromium` for the browser tests
# (`.ci/run` installs it).

CARGO ?= cargo
NPM ?= npm
# Where cargo builds (the browser tests start the debug binary from there).
TARGET_DIR := $(abspath $(or $(CARGO_TARGET_DIR),target))
# Set AUTOMATRIX_TEST_POSTGRES_URL (e.g. postgres://postgres@127.0.0.1:5432/postgres) to run
# every API and store test against PostgreSQL too; without it those variants are skipped.
export AUTOMATRIX_TEST_POSTGRES_URL

.PHONY: run build test test-rust test-web e2e web lint fmt bench bench-smoke screenshots

## Build and start the server on the embedded default (SQLite in ./data, 127.0.0.1:8080).
run: web
	$(CARGO) run --release -p automatrix -- serve

build: web
	$(CARGO) build --release -p automatrix

## The web UI (web/dist), which the binary embeds when it is built.
web: web/node_modules/.package-lock.json
	cd web && $(NPM) run build

web/node_modules/.package-lock.json: web/package-lock.json
	cd web && $(NPM) ci --no-audit --no-fund

## Every test: the workspace's (unit, store conformance, HTTP API, CLI), the UI's component
## tests, and the browser tests against the built binary.
test: web test-rust test-web e2e

test-rust:
	$(CARGO) test --workspace --all-targets --no-fail-fast

test-web: web/node_modules/.package-lock.json
	cd web && $(NPM) test

## Browser tests: the debug binary (with the UI embedded) driven by Debian's chromium.
e2e: web
	$(CARGO) build -p automatrix
	cd web && AUTOMATRIX_BIN=$(TARGET_DIR)/debug/automatrix $(NPM) run e2e

## Retake docs/screenshots/*.png from the browser tests.
screenshots: web
	$(CARGO) build -p automatrix
	cd web && AUTOMATRIX_BIN=$(TARGET_DIR)/debug/automatrix AUTOMATRIX_SCREENSHOTS=../docs/screenshots $(NPM) run e2e

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

## The benchmark suite: W1-W5 on SQLite and PostgreSQL, n8n and Node-RED from npm in the same
## run, the ratios; report in bench/results/ and bench/README.md (see there; ~25 minutes).
bench:
	python3 bench/suite.py --update-readme

## The suite, briefly (CI: it still runs; no figure of it means anything).
bench-smoke:
	python3 bench/suite.py --smoke --peers node-red
