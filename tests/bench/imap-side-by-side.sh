#!/usr/bin/env bash
# The IMAP rows of issue #14's table against MailCloud (./mailcloud up on Azurite) and Dovecot from Debian in one run,
# with the same python imaplib client (tests/bench/lib/imap_rows.py): APPEND, SELECT first/second, FETCH ENVELOPE,
# SEARCH, body fetches, STORE 1:*, then SELECT and FETCH ENVELOPE after restarting each server. Prints each row for both servers and the ratio (Dovecot / MailCloud for times).
#   tests/bench/imap-side-by-side.sh [MESSAGES]      (default 10000)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
count="${1:-10000}"
work="$(mktemp -d)"
source "$repo/tests/bench/lib/servers.sh"
python3 "$repo/tests/bench/lib/imap_rows.py" MailCloud "$imaps" "$user" "$pass" "$count" "$work/restart-mailcloud" > "$work/mailcloud.tsv"
python3 "$repo/tests/bench/lib/imap_rows.py" Dovecot "$dport" "$user" "$pass" "$count" "$work/restart-dovecot" > "$work/dovecot.tsv"
python3 - "$work/mailcloud.tsv" "$work/dovecot.tsv" <<'PY'
import sys
mc = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
dv = {r: float(v) for _, r, v in (l.rstrip("\n").split("\t") for l in open(sys.argv[2]))}
print(f"{'row':44} {'MailCloud':>12} {'Dovecot':>12} {'MailCloud/Dovecot':>18}")
for _, r, v in mc:
    v = float(v)
    unit = " msg/s" if "msgs/s" in r else " ms"
    # For times the ratio says how many times longer MailCloud took; for rates, what share of Dovecot's it reached.
    print(f"{r:44} {v:9.1f}{unit:<4} {dv[r]:9.1f}{unit:<4} {v / dv[r]:15.2f}x")
PY
