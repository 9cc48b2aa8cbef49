#!/usr/bin/env bash
# IMAP on a large mailbox (SELECT, FETCH FLAGS/ENVELOPE, SEARCH, body fetches) and memory per connection in IDLE.
#   tests/bench/imap.sh [MESSAGES] [IDLE-CLIENTS]      (defaults 10000 and 1000)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
[ -f "$repo/node_modules/azurite/package.json" ] || (cd "$repo" && npm ci --no-audit --no-fund --loglevel=error)
ulimit -n 65536 2>/dev/null || true
dotnet run -c Release --project "$repo/tests/MailCloud.Benchmarks" -- imap "${1:-10000}" "${2:-1000}"
