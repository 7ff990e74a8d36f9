#!/usr/bin/env bash
# First command of the README: builds Passerelle and runs it with the demo data on SQLite (no server needed).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
echo "==> cargo build --release (la première compilation prend quelques minutes)"
cargo build --release -p passerelle
exec ./target/release/passerelle demo "$@"
