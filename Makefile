# The two commands a newcomer needs: `make run` and `make test`.
# Without DATABASE_URL both start a project-local PostgreSQL (data in .data/), installing
# Debian's postgresql package first when it is missing and the user may.

# Build caches live outside the clone, so a fresh clone (CI's) reuses them.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/txtcv-target

.PHONY: run test browser bench

## Start txtcv (web and worker) on http://localhost:8080.
run:
	cargo run --release -- serve

## Run the whole test suite: formatting, lints, unit, integration and browser tests.
test: browser
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings
	cargo test

## The browser tests drive Debian's headless Chromium through chromedriver.
browser:
	@if ! command -v chromedriver >/dev/null || ! command -v chromium >/dev/null; then \
	  echo "installing chromium and chromium-driver for the browser tests"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO="sudo -n"; fi; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium chromium-driver; \
	fi

## Measure txtcv against nginx serving the same bytes (public page, status polls, jobs, 10,000
## pollers); installs wrk and nginx when missing. Figures and targets: benches/RESULTS.md.
bench:
	benches/run.sh
