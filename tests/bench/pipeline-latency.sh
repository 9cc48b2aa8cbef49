#!/usr/bin/env bash
# Accept -> indexed latency (p50/p99) at low load and storage requests per locally delivered message.
#   tests/bench/pipeline-latency.sh [MESSAGES]
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
[ -f "$repo/node_modules/azurite/package.json" ] || (cd "$repo" && npm ci --no-audit --no-fund --loglevel=error)
dotnet run -c Release --project "$repo/tests/MailCloud.Benchmarks" -- pipeline "$repo" "${1:-200}"
