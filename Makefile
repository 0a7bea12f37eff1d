# AutoMatrix developer commands. `make run` and `make test` work on a fresh machine with
# only the Rust toolchain installed.

CARGO ?= cargo
# Set AUTOMATRIX_TEST_POSTGRES_URL (e.g. postgres://postgres@127.0.0.1:5432/postgres) to run
# every API and store test against PostgreSQL too; without it those variants are skipped.
export AUTOMATRIX_TEST_POSTGRES_URL

.PHONY: run build test lint fmt bench

## Build and start the server on the embedded default (SQLite in ./data, 127.0.0.1:8080).
run:
	$(CARGO) run --release -p automatrix -- serve

build:
	$(CARGO) build --release -p automatrix

## Every test of the workspace (unit, store conformance, HTTP API, CLI).
test:
	$(CARGO) test --workspace --all-targets --no-fail-fast

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all

## Criterion benchmarks (expressions, validation, in-memory runs); see bench/README.md.
bench:
	$(CARGO) bench -p automatrix-bench --bench engine
