#!/usr/bin/env bash
# SMTP accept benchmark: postfix's smtp-source (taken from Debian's postfix package with dpkg -x, not installed)
# against MailCloud's MX listener on Azurite, beside the raw Azurite ceiling. Prints a Markdown table.
#   tests/bench/smtp-accept.sh [MESSAGES]
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
tools="$repo/.mailcloud/tools/postfix"
if [ ! -x "$tools/usr/sbin/smtp-source" ]; then
  mkdir -p "$tools"
  (cd "$tools" && apt-get download postfix >/dev/null 2>&1 || { apt-get update -qq && apt-get download postfix; }) 
  dpkg -x "$tools"/postfix_*.deb "$tools"
fi
[ -f "$repo/node_modules/azurite/package.json" ] || (cd "$repo" && npm ci --no-audit --no-fund --loglevel=error)
dotnet run -c Release --project "$repo/tests/MailCloud.Benchmarks" -- smtp --smtp-source "$tools/usr/sbin/smtp-source" --messages "${1:-1000}"
