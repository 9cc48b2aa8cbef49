#!/usr/bin/env bash
# Webmail page times (server time and storage requests, cold and warm) on an INBOX of N messages.
#   tests/bench/webmail.sh [MESSAGES]      (default 10000)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
[ -f "$repo/node_modules/azurite/package.json" ] || (cd "$repo" && npm ci --no-audit --no-fund --loglevel=error)
dotnet run -c Release --project "$repo/tests/MailCloud.Benchmarks" -- webmail "${1:-10000}"
