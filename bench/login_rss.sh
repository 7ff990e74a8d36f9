#!/usr/bin/env bash
# Memory of a login flood (not a test): RSS before / peak during / after BENCH_LOGINS (default 40) parallel logins
# through the real router, bounded by the hashing slots, then the same number of unbounded argon2id verifications
# for comparison. Results: docs/BENCHMARKS.md.
#
#   bash bench/login_rss.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run -q -p web --example login_rss
