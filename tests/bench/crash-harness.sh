#!/usr/bin/env bash
# Fault-injection harness (issue #18): the front end (its container entry point) and the functions (./mailcloud
# functions, the local driver) as separate processes on Azurite on disk; N messages (default 1,000, up to 1 MiB)
# through SMTP MX and submission to local users, an alias, a list, a forwarder and remote recipients at an aiosmtpd
# sink found through a dnsmasq MX, while both are SIGKILLed at random and Azurite is restarted. Prints the counts.
#   tests/bench/crash-harness.sh [MESSAGES] [extra crash_harness.py options, e.g. --seed 3 --kill-interval 2,6]
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
count="${1:-1000}"; shift || true
work="${HARNESS_WORK:-$(mktemp -d /tmp/mailcloud-harness.XXXXXX)}"
[ -f "$repo/node_modules/azurite/package.json" ] || (cd "$repo" && npm ci --no-audit --no-fund --loglevel=error)
command -v dnsmasq >/dev/null || [ -x /usr/sbin/dnsmasq ] || apt-get install -y -qq dnsmasq-base >/dev/null
[ -d /usr/lib/python3/dist-packages/aiosmtpd ] || apt-get install -y -qq python3-aiosmtpd >/dev/null
"$repo/mailcloud" --help >/dev/null   # builds the CLI (admin commands, 'functions', 'queue list', 'housekeeping')
dotnet build "$repo/protocol-hosts/MailCloud.FrontEnd" -c Release -o "$work/frontend" --nologo -v q "-clp:ErrorsOnly;NoSummary"
exec /usr/bin/python3 "$repo/tests/bench/lib/crash_harness.py" --repo "$repo" --work "$work" --frontend-dll "$work/frontend/MailCloud.FrontEnd.dll" --messages "$count" "$@"
