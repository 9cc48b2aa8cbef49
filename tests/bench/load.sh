#!/usr/bin/env bash
# Load held (issue #18): ./mailcloud up on Azurite (every listener on a free port), then tests/bench/lib/load.py:
# 1,000 concurrent SMTP sessions on the MX, 10,000 IMAP connections in IDLE, 500 POP3 sessions and a slow-client
# flood, with the server's memory, file descriptors and CPU per phase and a probe client's answer time throughout.
#   tests/bench/load.sh [--smtp N] [--idle N] [--pop3 N] [--slow N]      (defaults 1000 / 10000 / 500 / 200)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
work="$(mktemp -d /tmp/mailcloud-load.XXXXXX)"
ulimit -n 200000 2>/dev/null || ulimit -n "$(ulimit -Hn)"   # 10,000 IDLE connections need 10,000 descriptors on each side
source "$repo/tests/bench/lib/ports.sh"
trap 'kill $(jobs -p) 2>/dev/null || true; sleep 2; rm -rf "$work" "$ports_taken"' EXIT

token_out="$("$repo/mailcloud" admin-token)"
token="$(sed -n 's/^token (keep it; it is not stored anywhere): //p' <<<"$token_out")"
export MAILCLOUD_ADMIN_TOKEN_SHA256="$(sed -n 's/^export MAILCLOUD_ADMIN_TOKEN_SHA256=//p' <<<"$token_out")"
storage=$(free_port 3); smtp=$(free_port); imaps=$(free_port); pop3s=$(free_port); web=$(free_port)
export MAILCLOUD_SMTP_PORT=$smtp MAILCLOUD_SUBMISSION_PORT=$(free_port) MAILCLOUD_SUBMISSIONS_PORT=$(free_port) \
  MAILCLOUD_IMAP_PORT=$(free_port) MAILCLOUD_IMAPS_PORT=$imaps MAILCLOUD_POP3_PORT=$(free_port) MAILCLOUD_POP3S_PORT=$pop3s \
  MAILCLOUD_WEB_PORT=$web MAILCLOUD_WEBS_PORT=$(free_port) MAILCLOUD_MAX_CONNECTIONS=12000 MAILCLOUD_MAX_CONNECTIONS_PER_ADDRESS=1000 \
  MAILCLOUD_SMTP_TRUSTED_NETWORKS=127.0.0.0/8
"$repo/mailcloud" up --data "$work/mailcloud" --storage-port "$storage" > "$work/up.log" 2>&1 &
for _ in $(seq 1 180); do grep -q "MailCloud is up" "$work/up.log" && break; sleep 1; done
grep -q "MailCloud is up" "$work/up.log" || { cat "$work/up.log"; exit 1; }
server=$(pgrep -f "mailcloud.dll up --data $work/mailcloud" | head -1)
azurite=$(pgrep -f "azurite.js.*--blobPort $storage" | head -1)
echo "server pid $server (dotnet), Azurite pid $azurite; limits for the load: 12,000 connections per front end, 1,000 per address"
python3 "$repo/tests/bench/lib/load.py" --server-pid "$server" --azurite-pid "$azurite" --smtp-port "$smtp" --imaps-port "$imaps" \
  --pop3s-port "$pop3s" --web-port "$web" --token "$token" "$@"
