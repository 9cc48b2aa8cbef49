#!/usr/bin/env bash
# IMAP under concurrency, side by side: Dovecot's imaptest stress (random commands from many clients on one mailbox,
# checking state consistency) against MailCloud (./mailcloud up on Azurite) and against Dovecot from Debian
# (dovecot-imapd, installed when missing and started on a loopback port with its own config), in one run.
#   tests/bench/imaptest-stress.sh [SECONDS]       (10 and 50 clients, each for SECONDS, default 60; CLIENTS="10" to choose)
# Prints, per server and client count, imaptest's totals (commands of each kind), the average latency per
# command kind (ms) and the number of error lines (0 is the goal).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
tools="$(cd "$repo/../shared/tools/imaptest" && pwd)"
secs="${1:-60}"
work="$(mktemp -d)"
source "$repo/tests/bench/lib/servers.sh"

run() { # name port clients
  local out
  out=$("$tools/imaptest" host=127.0.0.1 port="$2" ssl=any-cert user="$user" pass="$pass" mbox="$tools/stress.mbox" clients="$3" secs="$secs" 2>&1 || true)
  echo "== $1, $3 clients, $secs s: $(grep -c '^Error' <<<"$out") error lines"
  echo "$out" | grep -A4 '^Totals:' | tail -4 || true
  echo "$out" | grep 'ms/cmd avg' | tail -1 || true
}
for clients in ${CLIENTS:-10 50}; do
  run MailCloud "$imaps" "$clients"
  run "Dovecot $(dovecot --version | cut -d' ' -f1)" "$dport" "$clients"
done
