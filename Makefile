# Offline build toolchain for Agent Sessions (Solidity contracts + Python SDK).
# Everything runs from the project: solc is solcjs behind toolchain/solc.js,
# Anvil comes from npm, Ape keeps its data in .ape/. Targets are idempotent:
# a warm `make setup` only re-runs `ape compile` (itself incremental).

SHELL := /bin/bash
PYTHON ?= python3
SOLC_VERSION := 0.8.37
PYTEST_ARGS ?=

VENV_STAMP := .venv/.installed
NPM_STAMP := node_modules/.installed
SOLC := .solcx/solc-v$(SOLC_VERSION)

# py-solc-x only looks for solc-v<version> in SOLCX_BINARY_PATH (never on PATH).
export SOLCX_BINARY_PATH := $(CURDIR)/.solcx
export APE_DATA_FOLDER := $(CURDIR)/.ape
# toolchain/bin/anvil adds --prune-history to node_modules/.bin/anvil.
export PATH := $(CURDIR)/toolchain/bin:$(CURDIR)/node_modules/.bin:$(CURDIR)/.venv/bin:$(PATH)

.DEFAULT_GOAL := help
.PHONY: help setup compile artifacts test test-forge test-ape prove coverage demo gas gas-check bench soak node node-stop clean distclean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

# Stamps live inside the directories they describe, so deleting .venv/ or
# node_modules/ re-triggers the install.
$(VENV_STAMP): pyproject.toml
	@test -x .venv/bin/python || $(PYTHON) -m venv .venv
	.venv/bin/pip install --quiet --disable-pip-version-check -e ".[dev,ape,mcp,studio]"
	@touch $@

# `npm install`, not `npm ci`: the lock file lacks the other platforms'
# optional Anvil packages and `npm ci` refuses it.
$(NPM_STAMP): package.json
	npm install --no-audit --no-fund
	@touch $@

# A symlink, not a copy: solc.js finds node_modules next to its real path.
$(SOLC):
	@mkdir -p $(@D)
	ln -sfn $(CURDIR)/toolchain/solc.js $@

# The OpenZeppelin files the contracts import (and what they import), from the npm package.
OZ_FILES := token/ERC20/ERC20.sol token/ERC20/IERC20.sol token/ERC20/extensions/IERC20Metadata.sol \
	utils/Context.sol interfaces/draft-IERC6093.sol token/ERC721/IERC721.sol \
	token/ERC721/extensions/IERC721Metadata.sol utils/introspection/IERC165.sol \
	interfaces/IERC1271.sol interfaces/IERC5267.sol utils/cryptography/ECDSA.sol
OZ_STAMP := .deps/openzeppelin-contracts/.copied
# A new file list also drops Ape's unpacked copy of the old one (it would not notice the change).
$(OZ_STAMP): $(NPM_STAMP) Makefile
	@rm -rf .deps/openzeppelin-contracts contracts/.cache/openzeppelin $(APE_DATA_FOLDER)/packages/*/*openzeppelin-contracts*
	@cd node_modules/@openzeppelin/contracts && for f in $(OZ_FILES); do \
		mkdir -p ../../../.deps/openzeppelin-contracts/$$(dirname $$f) && cp $$f ../../../.deps/openzeppelin-contracts/$$f; done
	@touch $@

# Ape's incremental compile misses dependents (SessionFactory embeds SessionManager's bytecode and kept a
# stale copy), so any change under contracts/ forces a full compile.
CONTRACTS := $(shell find contracts -name '*.sol' -not -path '*/.cache/*' 2>/dev/null)
BUILD_STAMP := .build/.compiled

$(BUILD_STAMP): $(CONTRACTS) ape-config.yaml $(VENV_STAMP) $(NPM_STAMP) $(SOLC) $(OZ_STAMP)
	ape compile --force
	@touch $@

# The SDK ships the ABIs + bytecode it deploys (package data, committed); refreshed after each compile.
# The script rewrites a file only when its content changed.
ARTIFACTS_STAMP := .build/.artifacts

$(ARTIFACTS_STAMP): $(BUILD_STAMP) sdk/agent_sessions/_build_artifacts.py
	.venv/bin/python -m agent_sessions._build_artifacts
	@touch $@

# Slither lives in its own virtualenv: its pins and Ape's must not fight.
SLITHER_STAMP := .venv-slither/.installed
$(SLITHER_STAMP): security/slither-requirements.txt
	@test -x .venv-slither/bin/python || $(PYTHON) -m venv .venv-slither
	.venv-slither/bin/pip install --quiet --disable-pip-version-check -r security/slither-requirements.txt
	@touch $@

# halmos too: z3 and its pins stay out of Ape's environment.
HALMOS_STAMP := .venv-halmos/.installed
$(HALMOS_STAMP): toolchain/halmos-requirements.txt
	@test -x .venv-halmos/bin/python || $(PYTHON) -m venv .venv-halmos
	.venv-halmos/bin/pip install --quiet --disable-pip-version-check -r toolchain/halmos-requirements.txt
	@touch $@

setup: $(VENV_STAMP) $(NPM_STAMP) $(SOLC) $(BUILD_STAMP) $(ARTIFACTS_STAMP) $(SLITHER_STAMP) $(HALMOS_STAMP) ## Install Python + npm deps (Ape, forge, halmos), register solc, compile, refresh SDK artifacts

artifacts: setup ## Copy ABIs + bytecode from .build/ into sdk/agent_sessions/artifacts/

compile: setup ## Compile the contracts (alias of setup)

# The invariant suite runs about 10,000 operations per test run (300 examples of 45 steps, about 35 of which send
# an operation); `make soak` runs 100,000+. A failing seed is printed; replay it with INVARIANT_SEED=<seed>.
INVARIANT_EXAMPLES ?= 300
export INVARIANT_EXAMPLES

# `make test` runs every engine: forge (unit, fuzz, invariants over the whole session tree), halmos (proofs),
# the gas-snapshot check, then the Ape/pytest suite on Anvil last, so pytest's summary closes the output.
test: setup test-forge prove gas-check test-ape ## Run every test: forge, halmos, gas snapshot check, then pytest on Anvil

# `ape test` runs on an Anvil of its own on a port the system picks (tests/conftest.py), never on a node that is
# already listening (127.0.0.1:8545 of `make node`, another checkout's run); so do the nodes the tests start.
test-ape: setup ## The Python suite on Anvil (PYTEST_ARGS="-k foo" to filter)
	ape test tests/ $(PYTEST_ARGS)

# FORGE_ARGS="--match-contract X" to filter. The ci profile (foundry.toml) makes the invariant campaigns over
# 1,000,000 handler calls with a fixed seed; the count is printed from forge's own per-campaign figures.
FORGE_ARGS ?=
test-forge: setup ## Solidity unit, fuzz and invariant tests (forge; over 1,000,000 invariant handler calls)
	@mkdir -p .forge
	@set -o pipefail; FOUNDRY_PROFILE=ci forge test $(FORGE_ARGS) 2>&1 | tee .forge/test.log
	@awk '/^\[PASS\] invariant_/ { match($$0, /calls: [0-9]+/); calls += substr($$0, RSTART + 7, RLENGTH - 7); n++ } \
		END { printf "forge invariants: %d campaigns, %d handler calls\n", n, calls }' .forge/test.log

# halmos over the forge build (halmos.toml says which contracts, the loop bound, the solvers and their timeouts),
# then the floor-division lemmas of tests/forge/symbolic/lemmas/ with z3. Fails on a counterexample, a timeout, an
# error, a path cut short by the loop bound, or a lemma that is not `unsat`. The build runs first, quietly (halmos
# would print every compiler warning); its log is .forge/prove-build.log, halmos' full output .forge/halmos.log.
PROVE_LEMMAS := $(wildcard tests/forge/symbolic/lemmas/*.smt2)
prove: setup ## Symbolic proofs of the contract arithmetic (halmos over the forge build, z3 lemmas)
	@mkdir -p .forge
	@FOUNDRY_PROFILE=prove forge build --ast --extra-output storageLayout metadata >.forge/prove-build.log 2>&1 \
		|| { cat .forge/prove-build.log; exit 1; }
	@status=0; FOUNDRY_PROFILE=prove .venv-halmos/bin/halmos >.forge/halmos.log 2>&1 || status=$$?; \
	awk '/unknown deployed bytecode/ {skip = 1; next} skip && /^         / {next} {skip = 0; print}' .forge/halmos.log; \
	if grep -q 'loop unrolling bound' .forge/halmos.log; then \
		echo "prove: paths were cut short by the loop bound (halmos.toml: loop)" >&2; status=1; fi; \
	exit $$status
	@for f in $(PROVE_LEMMAS); do \
		out=$$(.venv-halmos/bin/z3 -T:60 $$f) || { echo "$$f: z3 failed: $$out" >&2; exit 1; }; \
		n=$$(echo "$$out" | grep -c .); \
		if [ "$$(echo "$$out" | sort -u)" != unsat ]; then echo "$$f: not every lemma holds: $$out" >&2; exit 1; fi; \
		echo "lemmas: $$n of $$n proved (z3) in $$f"; done

# forge coverage rebuilds without the optimizer and runs the forge unit tests (COVERAGE_TESTS widens it); the invariant
# handler and the proofs are not built (unoptimised, the handler is too deep for the stack). Only the product contracts
# are measured. The summary fails below
# COVERAGE_MIN_BRANCHES percent of branches. forge's own output goes to .forge/coverage/forge.log.
COVERAGE_TESTS ?= tests/forge/unit/*
COVERAGE_MIN_BRANCHES ?= 95
COVERAGE_DIR := .forge/coverage
coverage: setup ## Line and branch coverage of the product contracts (forge coverage), writes coverage-summary.json
	@mkdir -p $(COVERAGE_DIR)
	@forge coverage --match-path '$(COVERAGE_TESTS)' --no-match-coverage '^(contracts/test/|tests/|node_modules/)' \
		--skip '*/invariant/**' --skip '*/symbolic/**' \
		--report lcov --report-file $(COVERAGE_DIR)/lcov.info >$(COVERAGE_DIR)/forge.log 2>&1; rc=$$?; \
		grep -E '^(Ran [0-9]+ test suites|\[FAIL|Error)' $(COVERAGE_DIR)/forge.log; \
		if [ $$rc -ne 0 ]; then echo "forge coverage failed (exit $$rc); see $(COVERAGE_DIR)/forge.log" >&2; exit $$rc; fi
	$(PYTHON) scripts/_coverage_summary.py $(COVERAGE_DIR)/lcov.info --out coverage-summary.json \
		--min-branches $(COVERAGE_MIN_BRANCHES) --tests 'forge coverage --match-path $(COVERAGE_TESTS)'

# `gas` and `gas-check` measure through the same code (scripts/gas.py, on a fresh Anvil with a pinned clock): one
# writes gas-snapshot.json, the other compares and lists every operation that differs.
gas-check: setup ## Fail when the committed gas-snapshot.json differs from what the contracts cost now
	ape run gas --check

demo: setup ## Run scripts/demo.py
	ape run demo

gas: setup ## Measure gas per operation on a fresh Anvil, write gas-snapshot.json (reproducible bit for bit)
	ape run gas

# BENCH_ARGS="--pairs 3 --txs 200 --sessions 2000 --slice 500 --list-sample 500" for a quick run (ape run bench --help).
BENCH_ARGS ?=
bench: setup ## Paired throughput rounds and 100,000 sessions spawned + listed; writes bench-results.json
	ape run bench $(BENCH_ARGS)

# The soak runs the invariant campaigns in chunks of about 400,000 calls (chunk i with seed SOAK_SEED + i) and
# rewrites soak-results.json after each; SOAK_ARGS=--resume continues a soak that was stopped.
SOAK_CALLS ?= 100000000
SOAK_SEED ?= 1
SOAK_ARGS ?=
soak: setup ## Invariant campaigns at volume (100,000,000 handler calls), writes soak-results.json
	.venv/bin/python scripts/soak.py --calls $(SOAK_CALLS) --seed $(SOAK_SEED) $(SOAK_ARGS)

# A persistent local chain for `ape run deploy|spawn|sessions`: Ape's foundry provider connects to an Anvil
# already listening at its host (127.0.0.1:8545 unless APE_FOUNDRY_HOST says otherwise) instead of starting a
# throw-away one per command. Same accounts, fees and hardfork as the Anvil Ape starts; the chain state is
# saved to .anvil/local.json every 10 s and on stop, and loaded again by the next `make node`.
NODE_PORT ?= 8545
NODE_DIR := .anvil
NODE_STATE := $(NODE_DIR)/local.json
NODE_PID := $(NODE_DIR)/anvil.pid
NODE_LOG := $(NODE_DIR)/anvil.log

node: $(NPM_STAMP) ## Start a persistent Anvil on 127.0.0.1:8545 (state in .anvil/local.json) for `ape run`
	@mkdir -p $(NODE_DIR)
	@if [ -f $(NODE_PID) ] && kill -0 "$$(cat $(NODE_PID))" 2>/dev/null; then \
		echo "Anvil already running (pid $$(cat $(NODE_PID))) on 127.0.0.1:$(NODE_PORT)"; exit 0; fi; \
	if (exec 3<>/dev/tcp/127.0.0.1/$(NODE_PORT)) 2>/dev/null; then \
		echo "port $(NODE_PORT) is taken by another process" >&2; exit 1; fi; \
	nohup anvil --host 127.0.0.1 --port $(NODE_PORT) --state $(NODE_STATE) --state-interval 10 \
		--hardfork prague --steps-tracing --block-base-fee-per-gas 0 --gas-price 0 \
		>$(NODE_LOG) 2>&1 & echo $$! >$(NODE_PID); \
	for i in $$(seq 50); do \
		if (exec 3<>/dev/tcp/127.0.0.1/$(NODE_PORT)) 2>/dev/null; then \
			echo "Anvil running on 127.0.0.1:$(NODE_PORT) (pid $$(cat $(NODE_PID)), state $(NODE_STATE), log $(NODE_LOG))"; \
			exit 0; fi; \
		sleep 0.2; done; \
	echo "Anvil did not start; see $(NODE_LOG)" >&2; exit 1

node-stop: ## Stop the Anvil of `make node` (its state is saved to .anvil/local.json)
	@if [ -f $(NODE_PID) ] && kill -0 "$$(cat $(NODE_PID))" 2>/dev/null; then \
		kill "$$(cat $(NODE_PID))"; \
		for i in $$(seq 50); do kill -0 "$$(cat $(NODE_PID))" 2>/dev/null || break; sleep 0.1; done; \
		echo "Anvil stopped; state saved in $(NODE_STATE)"; \
	else echo "no Anvil of make node is running"; fi
	@rm -f $(NODE_PID)

clean: ## Remove build outputs, caches and install stamps (keeps .venv/, node_modules/)
	rm -rf .build .ape .solcx .deps .forge contracts/.cache .pytest_cache .hypothesis $(VENV_STAMP) $(NPM_STAMP) $(HALMOS_STAMP)
	find . -name __pycache__ -not -path './.venv/*' -not -path './node_modules/*' -prune -exec rm -rf {} +

distclean: clean ## Also remove .venv/ and node_modules/
	rm -rf .venv .venv-slither .venv-halmos node_modules *.egg-info sdk/*.egg-info

# Session Studio (sdk/agent_sessions/studio/): its pinned extra (Starlette, uvicorn, Jinja2, Playwright) and Debian's
# chromium for its browser tests (Playwright drives /usr/bin/chromium; it never downloads a browser). Without root or
# apt the install step says so and goes on outside CI; under CI it fails, and so do the browser tests.
STUDIO_STAMP := .venv/.studio-installed
$(STUDIO_STAMP): $(VENV_STAMP) pyproject.toml
	.venv/bin/pip install --quiet --disable-pip-version-check -e '.[studio]'
	@command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -qq --no-install-recommends chromium >/dev/null; } || \
		{ echo "studio: could not install Debian's chromium (needs root and apt); the studio's browser tests need it" >&2; \
		  test -z "$$CI"; }
	@touch $@
setup: $(STUDIO_STAMP)

# The htmx and uPlot builds the studio serves, copied from the pinned npm packages into the package (committed data;
# tests/studio checks they are the same bytes).
STUDIO_ASSETS := node_modules/htmx.org/dist/htmx.min.js node_modules/uplot/dist/uPlot.iife.min.js \
	node_modules/uplot/dist/uPlot.min.css
.PHONY: studio-assets
studio-assets: $(NPM_STAMP) ## Copy the studio's htmx and uPlot builds from node_modules into the package
	cp $(STUDIO_ASSETS) sdk/agent_sessions/studio/static/
