#!/usr/bin/env bash
# Storage requests and time per delivery, flag change, expunge and recipient lookup as one mailbox grows.
#   tests/bench/mailbox-scaling.sh [SIZES]      (default 100,10000,100000: messages in the one INBOX)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
[ -f "$repo/node_modules/azurite/package.json" ] || (cd "$repo" && npm ci --no-audit --no-fund --loglevel=error)
dotnet run -c Release --project "$repo/tests/MailCloud.Benchmarks" -- scaling "${1:-100,10000,100000}"
