# Lockbox developer commands. README.md names two: `make run` and `make test`.
# CI (.ci/run) runs `make lint` and `make test` on a fresh machine.
CARGO ?= cargo
NPM   ?= npm
# Python tools for the tests live in a project-local virtualenv (make py-deps).
VENV  := $(CURDIR)/.venv
export LOCKBOX_PYTHON := $(VENV)/bin/python3

.PHONY: run test test-package test-rust test-rust-future test-postgres test-ui test-headless test-api test-e2e lint lint-tools fmt bindings cli ui ui-deps py-deps oidc-deps deps package bench bench-desktop bench-connected bench-archive

## Run the desktop app on the store in your data dir (installs what is missing first).
run: deps ui
	$(CARGO) run -p lockbox-app --locked

## Run every test: engine, CLI, API, IPC commands, UI components, the headless app,
## API fuzzing (schemathesis), WebDriver E2E, then the .deb installed and removed.
test: deps ui py-deps oidc-deps test-rust test-rust-future test-postgres test-ui test-headless test-api test-e2e test-package

test-rust: ui py-deps oidc-deps
	$(CARGO) test --workspace --locked

## The Rust suite again with the wall clock a year ahead (libfaketime): a test
## whose outcome depends on today's date fails the day it is written.
## Nothing is compiled under libfaketime (rustc and rustdoc hang there): the
## test binaries and the CLI the tests run (LOCKBOX_BIN) are built first, with
## the real clock; doc-tests (compiled at run time) ran in test-rust.
test-rust-future: ui py-deps oidc-deps
	$(CARGO) test --workspace --locked --lib --bins --tests --no-run
	$(CARGO) build -p lockbox-cli --bin lockbox --locked
	LOCKBOX_BIN=$(CURDIR)/target/debug/lockbox DONT_FAKE_MONOTONIC=1 \
	  timeout 1800 faketime -f '+365d' $(CARGO) test --workspace --locked --lib --bins --tests --no-fail-fast

## The engine's suites that do not depend on SQLite's files, again on a real
## PostgreSQL server: the tests start a throwaway cluster (initdb + postgres
## from Debian's postgresql package, as `nobody` when run as root) and give
## each test a new database. (crates/lockbox-core/tests/postgres.rs runs on
## PostgreSQL in every run: several instances on one database.)
PG_SUITES := -p lockbox-core --test properties --test scheduler --test scheduler_reminders --test store \
	--test audit_chain --test checkpoints --test postgres --test replica \
	-p lockbox-api --test api --test admin_oidc --test admin_feed -p lockbox-app --test scenarios \
	-p lockbox-bench --test clock --test races --test kill9 --test tamper
test-postgres: ui py-deps oidc-deps
	LOCKBOX_TEST_BACKEND=postgres $(CARGO) test --locked $(PG_SUITES)

test-ui: ui-deps
	cd ui && $(NPM) run typecheck && $(NPM) test

test-headless: ui
	$(CARGO) build -p lockbox-app -p lockbox-cli --locked
	tests/headless/run.sh

test-api: py-deps
	$(CARGO) build -p lockbox-cli --locked
	tests/api/fuzz.sh 100

test-e2e: ui oidc-deps
	tests/e2e/run.sh

## Benchmarks against raw baselines, measured in the same run (release build; not
## part of `make test`; see BENCHMARKS.md). Pick some: make bench BENCH_ARGS="sweep --runs 5".
## The release `lockbox` binary is built first: api-pg runs two `lockbox serve` beside it.
bench:
	$(CARGO) build --release --locked -p lockbox-cli --bin lockbox
	$(CARGO) run --release --locked -p lockbox-bench --bin lockbox-bench -- $(BENCH_ARGS)

## Desktop app vs a bare Tauri window: cold start, idle RSS and CPU (Xvfb; ~5 min).
bench-desktop: deps ui
	crates/lockbox-bench/desktop.sh

## Connected mode (issue 14): cold start on a team server vs the same app on its own store,
## the same 10 000 pending requests (a real OpenID provider, GNOME Keyring; ~3 min).
bench-connected: deps ui oidc-deps
	crates/lockbox-bench/desktop.sh connected

## The archive window on a 1 000 000-entry archive: start to first Audit page, to verified.
bench-archive: deps ui
	crates/lockbox-bench/desktop.sh archive

## Formatting and lints, as CI checks them: rustfmt, clippy, ESLint (ui), unused dependencies
## (cargo machete), licences, bans and sources of the dependencies (cargo deny,
## deny.toml; not advisories: their database is not reachable from here).
lint: lint-tools ui
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings
	$(CARGO) machete
	$(CARGO) deny check bans licenses sources
	cd ui && $(NPM) run lint

# The cargo tools of `make lint`, pinned. Built from crates.io by `cargo install`
# when missing or at another version (about 12 min on 2 busy cores, once).
CARGO_MACHETE_VERSION := 0.9.2
CARGO_DENY_VERSION    := 0.20.2
LINT_TOOLS_OK = $(CARGO) machete --version 2>/dev/null | grep -qx '$(CARGO_MACHETE_VERSION)' && \
	$(CARGO) deny --version 2>/dev/null | grep -qx 'cargo-deny $(CARGO_DENY_VERSION)'

lint-tools:
	@if ! { $(LINT_TOOLS_OK); }; then \
	  echo "make lint: installing cargo-machete $(CARGO_MACHETE_VERSION) and cargo-deny $(CARGO_DENY_VERSION)"; \
	  $(CARGO) install --locked cargo-machete@$(CARGO_MACHETE_VERSION) cargo-deny@$(CARGO_DENY_VERSION) \
	    || { echo "error: make lint: cargo install of cargo-machete $(CARGO_MACHETE_VERSION) / cargo-deny $(CARGO_DENY_VERSION) failed" >&2; exit 1; }; \
	  { $(LINT_TOOLS_OK); } || { echo "error: make lint: after the install, 'cargo machete' / 'cargo deny' still is not $(CARGO_MACHETE_VERSION) / $(CARGO_DENY_VERSION) (another one first on PATH?)" >&2; exit 1; }; \
	fi

fmt:
	$(CARGO) fmt --all

## System packages (Debian): webkit2gtk, Xvfb, D-Bus, a notification daemon, ...
deps:
	.ci/install-deps

ui-deps: ui/node_modules/.package-lock.json

## Python test tools (aiosmtpd, schemathesis), pinned, in .venv.
py-deps: $(VENV)/.installed

$(VENV)/.installed: tests/python/requirements.txt
	python3 -m venv $(VENV) || { echo "error: python3 -m venv failed: install python3-venv (make deps)" >&2; exit 1; }
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/python/requirements.txt
	touch $@

## The real OpenID provider of the sign-in tests (oidc-provider, node):
## tests/oidc/node_modules from its lock file. No node or npm is an error.
oidc-deps: tests/oidc/node_modules/.package-lock.json

tests/oidc/node_modules/.package-lock.json: tests/oidc/package.json tests/oidc/package-lock.json
	@command -v node >/dev/null && command -v $(NPM) >/dev/null || { echo "error: make oidc-deps: node and npm are needed for the OpenID provider of the sign-in tests (tests/oidc): install nodejs and npm (make deps)" >&2; exit 1; }
	cd tests/oidc && $(NPM) ci --no-audit --no-fund

ui/node_modules/.package-lock.json: ui/package.json ui/package-lock.json
	cd ui && $(NPM) ci --no-audit --no-fund

## Build the admin-center UI into ui/dist (what the app embeds).
ui: ui-deps
	cd ui && $(NPM) run build

## Regenerate ui/src/bindings from the Rust wire types (commit the result).
bindings:
	UPDATE_BINDINGS=1 $(CARGO) test -p lockbox-core --test bindings --locked

## Build the CLI (target/debug/lockbox).
cli:
	$(CARGO) build -p lockbox-cli --locked

## Build a .deb with the tauri CLI (from npm): target/release/bundle/deb/. It ships
## the desktop app, the `lockbox` CLI with its completions and man pages
## (generated from its clap grammar into target/package/) and lockbox.service;
## see src-tauri/tauri.conf.json (bundle.linux.deb) and deploy/.
PKG_GEN := target/package
package: deps ui
	$(CARGO) build --release --locked -p lockbox-cli --bin lockbox
	rm -rf $(PKG_GEN) && mkdir -p $(PKG_GEN)/completions $(PKG_GEN)/man
	target/release/lockbox completions bash > $(PKG_GEN)/completions/lockbox
	target/release/lockbox completions zsh > $(PKG_GEN)/completions/_lockbox
	target/release/lockbox completions fish > $(PKG_GEN)/completions/lockbox.fish
	target/release/lockbox man --out $(PKG_GEN)/man && gzip -9n $(PKG_GEN)/man/*.1
	rm -f target/release/bundle/deb/*.deb
	ui/node_modules/.bin/tauri build --bundles deb
	@ls -l target/release/bundle/deb/*.deb

## Install the .deb (dpkg -i), check what it ships, run `lockbox serve` as
## lockbox.service says (user, environment, ExecStart; systemd is not PID 1
## here), probe it, stop it with SIGTERM, remove and purge the package.
## Root only (dpkg). The release build inside `make package` is the slow part.
test-package: package
	tests/package/run.sh target/release/bundle/deb/*.deb
