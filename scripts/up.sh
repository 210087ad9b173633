#!/usr/bin/env bash
# Runs every service in one process (`matchday up`, release build). First makes sure Redis and
# MariaDB are installed and running at their default addresses (scripts/deps.sh --servers-only:
# apt-get install and start them when missing). Run `matchday up` directly to have it start private
# instances under ./var instead. Arguments go to `matchday up`, e.g.
#   scripts/up.sh --group 2
#   scripts/up.sh --config config/my.toml      (relative to the repository root)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

if ! command -v cargo >/dev/null 2>&1 && [ -x "$HOME/.cargo/bin/cargo" ]; then
    export PATH="$HOME/.cargo/bin:$PATH"
fi
if ! command -v cargo >/dev/null 2>&1; then
    cat >&2 <<'MSG'
up.sh: cargo (the Rust toolchain) is not installed. Install it with rustup:
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y
  . "$HOME/.cargo/env"
(see https://rustup.rs), then run this script again.
MSG
    exit 1
fi

# From the repository root, so the private servers' data lands in its var/ (git-ignored) wherever
# this is run from; relative paths given as arguments (--config) are therefore relative to the root.
cd "$ROOT"
scripts/deps.sh --servers-only
exec cargo run --release --bin matchday -- up "$@"
