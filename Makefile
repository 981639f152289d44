# Lockbox developer commands. `make test` is what CI runs (see .ci/run).
CARGO ?= cargo

.PHONY: test test-rust lint fmt bindings cli

## Run every test.
test: test-rust

test-rust:
	$(CARGO) test --workspace --locked

## Formatting and lints, as CI checks them.
lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

fmt:
	$(CARGO) fmt --all

## Regenerate ui/src/bindings from the Rust wire types (commit the result).
bindings:
	UPDATE_BINDINGS=1 $(CARGO) test -p lockbox-core --test bindings --locked

## Build the CLI (target/debug/lockbox).
cli:
	$(CARGO) build -p lockbox-cli --locked
