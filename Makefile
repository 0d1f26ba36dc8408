# The two commands a newcomer needs: `make run` and `make test`.
# Without DATABASE_URL both start a project-local PostgreSQL (data in .data/), installing
# Debian's postgresql package first when it is missing and the user may.

# Build caches live outside the clone, so a fresh clone (CI's) reuses them.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/txtcv-target

AXE_CORE_VERSION := 4.10.3
AXE_CORE_SHA256 := 880970c081707360e64f34cea25ff91892f5bc95675b0776925b9709dd8a68bb
AXE_CORE_DIR := $(HOME)/.cache/txtcv-axe
# Where the accessibility test reads axe-core (it looks in the same place when run by hand).
export TXTCV_AXE_CORE_JS := $(AXE_CORE_DIR)/node_modules/axe-core/axe.min.js

.PHONY: run test browser fuzz bench bench-citus citus test-citus citus-stop

## Start txtcv (web and worker) on http://localhost:8080.
run:
	cargo run --release -- serve

## Run the whole test suite: formatting, lints, unit, integration and browser tests, then the
## API fuzzing.
test: browser
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings
	cargo test
	$(MAKE) fuzz

## Property-based tests of the JSON API generated from /api/openapi.json by Schemathesis (pinned,
## in a venv under ~/.cache/txtcv-fuzz), against a server of its own: tests/fuzz/run.sh.
fuzz:
	tests/fuzz/run.sh

## The browser tests drive Debian's headless Chromium through chromedriver (the same Chromium
## prints the public CVs' PDFs, which their tests read with poppler-utils), and check pages with
## axe-core: one pinned release from the npm registry, kept outside the clone like the build cache
## and checked against the hash axe-core publishes for it (its sri-history.json).
browser:
	@missing=; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v chromedriver >/dev/null || missing="$$missing chromium-driver"; \
	command -v npm >/dev/null || missing="$$missing npm"; \
	command -v pdftotext >/dev/null || missing="$$missing poppler-utils"; \
	if [ -n "$$missing" ]; then \
	  echo "installing$$missing for the browser tests"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO="sudo -n"; fi; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi
	@if ! echo "$(AXE_CORE_SHA256)  $(TXTCV_AXE_CORE_JS)" | sha256sum --check --status 2>/dev/null; then \
	  echo "fetching axe-core $(AXE_CORE_VERSION) for the accessibility checks"; \
	  rm -rf "$(AXE_CORE_DIR)" && \
	  npm install --silent --no-save --no-audit --no-fund --prefix "$(AXE_CORE_DIR)" \
	    axe-core@$(AXE_CORE_VERSION) && \
	  echo "$(AXE_CORE_SHA256)  $(TXTCV_AXE_CORE_JS)" | sha256sum --check --quiet; \
	fi

## Measure txtcv against nginx serving the same bytes (public page, status polls, jobs, 10,000
## pollers, PDFs); installs wrk and nginx when missing, and Chromium (which prints the PDFs) like
## the browser tests. Figures and targets: benches/RESULTS.md.
bench: browser
	benches/run.sh

## benches/run.sh on the project-local PostgreSQL and on the Citus cluster in one go, side by side,
## with a third worker joining and the shards rebalanced during the Citus run: benches/citus.sh.
bench-citus:
	benches/citus.sh

## A local Citus cluster (a coordinator and two workers, data in .data/citus/) built from the
## pinned Citus release against Debian's PostgreSQL 15, the build cached in ~/.cache/txtcv-citus;
## prints the coordinator's URL. CITUS_SRC=<git clone> builds without internet:
## tests/citus/cluster.sh.
citus:
	tests/citus/cluster.sh

## Stop the Citus cluster (its data and the build cache stay).
citus-stop:
	tests/citus/cluster.sh stop

## The integration suite with every test database on the Citus coordinator (see tests/citus/).
test-citus: browser
	DATABASE_URL="$$(tests/citus/cluster.sh)" cargo test
