# Herald developer tasks. Every target installs the pinned toolchain first (tools/install is
# idempotent and returns in milliseconds when it is already there).
#
#   make devnet      a whole local network running seed 000's demo (Ctrl-C stops it)
#   make test        everything CI runs: contracts, gas, abi/ freshness, Rust fmt/clippy/tests
#   make bench       the keeper's latency and throughput on a local anvil (release build)
#   make gas         settlement gas per receipt for batches of 1, 10 and 100 (3-of-5 quorum)
#   make bench-match matching throughput at 1k, 10k and 100k triggers (one core)
#   make abi         regenerate abi/ from contracts/ (commit the result)
#   make circles     fail on import circles between the source files of a crate
#   make fmt         format Solidity and Rust

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
FORGE := ../.tools/node_modules/.bin/forge
TOOLS = eval "$$(tools/install --env)"

.PHONY: devnet test tools services contracts-test gas bench bench-match snapshot abi abi-check circles rust-test fmt

devnet: tools
	cargo run -q -p herald -- devnet

test: tools contracts-test gas abi-check rust-test
	@echo "make test: all checks passed"

tools:
	@tools/install

contracts-test: tools
	cd contracts && $(FORGE) fmt --check
	cd contracts && $(FORGE) build --sizes --skip test --skip Handler --skip Fixture --skip ChainProofs | grep -E "^\| (Herald|HeraldChallenges) "
	cd contracts && FOUNDRY_PROFILE=ci $(FORGE) test --no-match-contract SettlementGasBench
	cd contracts && $(FORGE) snapshot --check --no-match-test "testFuzz|invariant" --no-match-contract SettlementGasBench

gas: tools
	cd contracts && $(FORGE) test --match-contract SettlementGasBench -vv | grep -E "^\s+settle"

bench-match:
	cargo bench -q -p herald-match --bench match

bench: tools
	cargo run -q --release -p herald -- bench latency
	cargo run -q --release -p herald -- bench throughput

snapshot: tools
	cd contracts && $(FORGE) snapshot --no-match-test "testFuzz|invariant" --no-match-contract SettlementGasBench

abi: tools
	$(TOOLS) && cargo run -q -p xtask -- abi

abi-check: tools
	$(TOOLS) && cargo run -q -p xtask -- abi --check

# The store's tests run against the local PostgreSQL too; start it if it is down rather than skip.
services:
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start

circles: tools
	$(TOOLS) && cargo run -q -p xtask -- circles

rust-test: tools services
	cargo fmt --all -- --check
	$(TOOLS) && cargo clippy --workspace --all-targets -- -D warnings
	$(TOOLS) && cargo run -q -p xtask -- circles
	$(TOOLS) && cargo test --workspace

fmt: tools
	cd contracts && $(FORGE) fmt
	cargo fmt --all
