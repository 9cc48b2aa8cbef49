#!/usr/bin/env bash
# MIME parse benchmark: throughput and allocations per message (10 KiB, 1 MiB, 25 MiB) beside MimeKit 4.18 and a plain stream copy.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
dotnet run -c Release --project "$repo/tests/MailCloud.Benchmarks" -- mime
