#!/usr/bin/env bash
# What the content engines cost a delivery: accept -> indexed latency with the built-in scorer, with rspamd, and with
# rspamd + clamd (Debian's packages, started here on loopback with a local EICAR-only signature database), and the
# engines' own answer times from their own clients (rspamc, clamd's INSTREAM from python) on the same message.
#   tests/bench/content-engines.sh [MESSAGES]    (default 200 per variant; needs apt packages rspamd clamav-daemon)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
n=${1:-200}
command -v rspamd >/dev/null && command -v clamd >/dev/null || { echo "needs rspamd and clamd: apt-get install rspamd clamav-daemon" >&2; exit 2; }
[ -f "$repo/node_modules/azurite/package.json" ] || (cd "$repo" && npm ci --no-audit --no-fund --loglevel=error)
work=$(mktemp -d); trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rp=$(port); cp_=$(port); dp=$(port); clp=$(port)
mkdir -p "$work"/{local.d,db,run,log,clam}
cat > "$work/rspamd.conf" <<CONF
.include "\$CONFDIR/common.conf"
options { pidfile = "\$RUNDIR/rspamd.pid"; .include "\$CONFDIR/options.inc"
  dns { nameserver = ["127.0.0.1:$dp"]; timeout = 0.2s; retransmits = 1; } disable_hyperscan = true; }
logging { type = "file"; filename = "\$LOGDIR/rspamd.log"; level = "warning"; }
worker "normal" { bind_socket = "127.0.0.1:$rp"; mime = true; count = 1; }
worker "controller" { bind_socket = "127.0.0.1:$cp_"; count = 1; secure_ip = "127.0.0.1"; }
CONF
echo 'enabled = false;' > "$work/local.d/hfilter.conf"
rspamd -f -i -c "$work/rspamd.conf" --var LOCAL_CONFDIR="$work" --var DBDIR="$work/db" --var RUNDIR="$work/run" --var LOGDIR="$work/log" >/dev/null 2>&1 &
printf 'MailCloud.Test.EICAR:0:*:%s\n' "$(printf '%s' 'X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*' | od -An -tx1 | tr -d ' \n')" > "$work/clam/test.ndb"
printf 'Foreground yes\nTCPSocket %s\nTCPAddr 127.0.0.1\nDatabaseDirectory %s\nLogFile %s\nScanMail yes\n' "$clp" "$work/clam" "$work/clamd.log" > "$work/clamd.conf"
clamd -c "$work/clamd.conf" >/dev/null 2>&1 &
for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$rp/ping" >/dev/null && break; sleep 0.2; done
echo "rspamd $(rspamd -v 2>/dev/null | grep -o '[0-9][0-9.]*' | head -1) on $rp, clamd $(clamd --version | cut -d/ -f1) on $clp"

# The engines alone, from their own clients, on the benchmark's message shape.
printf 'From: bench@example.test\r\nTo: alice@example.test\r\nSubject: m1\r\n\r\n%s\r\n' "$(head -c 3000 /dev/zero | tr '\0' 'x')" > "$work/m.eml"
python3 - "$work/m.eml" "$n" "$rp" "$clp" <<'PY'
import sys, time, socket, struct, subprocess, statistics
path, n, rp, clp = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
data = open(path, "rb").read()
def p(xs, q): xs = sorted(xs); return xs[min(len(xs) - 1, int(q * len(xs)))]
t = []
for _ in range(n):
    s = time.perf_counter(); subprocess.run(["rspamc", "-h", "127.0.0.1:" + rp, path], capture_output=True, check=True); t.append((time.perf_counter() - s) * 1000)
print(f"rspamc (rspamd's client, a process per scan): p50 {p(t, .5):.1f} ms, p99 {p(t, .99):.1f} ms")
t = []
for _ in range(n):
    s = time.perf_counter(); c = socket.create_connection(("127.0.0.1", clp))
    c.sendall(b"zINSTREAM\0" + struct.pack(">I", len(data)) + data + struct.pack(">I", 0)); c.recv(100); c.close()
    t.append((time.perf_counter() - s) * 1000)
print(f"clamd INSTREAM (python socket): p50 {p(t, .5):.1f} ms, p99 {p(t, .99):.1f} ms")
PY
for variant in "" "--rspamd http://127.0.0.1:$rp/" "--rspamd http://127.0.0.1:$rp/ --clamd 127.0.0.1:$clp"; do
  # shellcheck disable=SC2086
  dotnet run -c Release --project "$repo/tests/MailCloud.Benchmarks" -- pipeline "$repo" "$n" $variant | grep -E "benchmark|accept ->|storage requests"
done
