#!/usr/bin/env bash
# Delivery -> "* n EXISTS" in IDLE, with the push hint and with the poll alone.
#   tests/bench/idle-push.sh [MESSAGES]      (default 50 each way)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
[ -f "$repo/node_modules/azurite/package.json" ] || (cd "$repo" && npm ci --no-audit --no-fund --loglevel=error)
dotnet run -c Release --project "$repo/tests/MailCloud.Benchmarks" -- idle-push "${1:-50}"
