#!/usr/bin/env bash
# Fuzzes parse + check + format for a while: ./fuzz/run.sh [SECONDS] (default 600).
#
# Seeds the corpus (gitignored) from the examples and the compiler's test fixtures,
# installs cargo-fuzz if it is missing, and runs the `parse_check` target. cargo-fuzz
# passes nightly-only flags to rustc; RUSTC_BOOTSTRAP=1 lets a stable toolchain accept
# them, so no nightly is needed. Crashes land in fuzz/artifacts/parse_check/; reproduce
# one with `RUSTC_BOOTSTRAP=1 cargo fuzz run parse_check fuzz/artifacts/parse_check/<file>`
# and shrink it with `cargo fuzz tmin parse_check <file>`.
set -euo pipefail

seconds="${1:-600}"
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz
fi

corpus="$root/fuzz/corpus/parse_check"
mkdir -p "$corpus"
for f in examples/*.camp compiler/tests/fixtures/*.camp compiler/tests/fixtures/lib/*.camp; do
    seed="$corpus/$(echo "$f" | tr '/' '_')"
    [ -e "$seed" ] || cp "$f" "$seed"
done

export RUSTC_BOOTSTRAP=1
# -max_len: the examples are up to ~6 KB; give mutations room beyond that.
# -dict: the language's tokens, so mutations get past the lexer sooner.
exec cargo fuzz run parse_check "$corpus" -- -max_total_time="$seconds" -max_len=16384 -dict="$root/fuzz/camp.dict" -print_final_stats=1
