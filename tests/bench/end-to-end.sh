#!/usr/bin/env bash
# Issue #14's SMTP rows side by side: Postfix (Debian's, a throwaway instance) → Dovecot LMTP → maildir against
# ./mailcloud up on Azurite, the same postfix smtp-source sending N messages in 10 sessions to each, with and without
# connection reuse; one imaplib connection polls STATUS INBOX until all are visible. Prints accept and end-to-end
# rates, the machine's CPU per delivered message, and the ratios. Both servers answer DNS from a local dnsmasq that
# knows no names (SPF/DMARC for the test sender answer at once), and 127.0.0.0/8 is a trusted network for MailCloud,
# so its MX greeting pause does not apply (Postfix here has no postscreen either).
# Needs root: installs postfix, dovecot-imapd/-lmtpd and dnsmasq-base from apt when missing, and adds the throwaway
# Postfix instance's directory to /etc/postfix/main.cf's alternate_config_directories (Postfix refuses others).
#   tests/bench/end-to-end.sh [MESSAGES] [SIZE]      (defaults 2000, 4096)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
count="${1:-2000}" size="${2:-4096}"
work="$(mktemp -d)"
need=()
command -v postfix >/dev/null || need+=(postfix)
[ -x /usr/sbin/dnsmasq ] || need+=(dnsmasq-base)
if [ ${#need[@]} -gt 0 ]; then
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null 2>&1 \
    || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; }
fi
source "$repo/tests/bench/lib/ports.sh"

# A DNS server with no names: every lookup is an immediate NXDOMAIN.
dns=$(free_port)
/usr/sbin/dnsmasq -k --no-resolv --no-hosts --conf-file=/dev/null --port="$dns" --listen-address=127.0.0.1 --bind-interfaces \
  --user=root --local=/example/ --local=/test/ --local=/arpa/ > /dev/null 2>&1 &
export MAILCLOUD_DNS_SERVERS="127.0.0.1:$dns" MAILCLOUD_SMTP_TRUSTED_NETWORKS=127.0.0.0/8
export DOVECOT_LMTP_PORT=$(free_port)
# A fixed place, so /etc/postfix/main.cf names one alternate directory however often this runs.
pdir=/tmp/mailcloud-bench-postfix
rm -rf "$pdir"
bench_cleanup='postfix -c "$pdir/etc" stop >/dev/null 2>&1 || true'
source "$repo/tests/bench/lib/servers.sh"
mx_port=$MAILCLOUD_SMTP_PORT

# Postfix: mail for example.test to Dovecot's LMTP, smtpd on a free port, nothing chrooted, its own queue.
pport=$(free_port)
mkdir -p "$pdir/etc" "$pdir/data" "$pdir/spool"
chown postfix "$pdir/data"
cp /etc/postfix/master.cf "$pdir/etc/master.cf" 2>/dev/null || cp /usr/share/postfix/master.cf.dist "$pdir/etc/master.cf"
touch /etc/postfix/main.cf
current=$(postconf -h alternate_config_directories 2>/dev/null || true)
case ", $current," in *", $pdir/etc,"*) ;; *) postconf -e "alternate_config_directories = ${current:+$current, }$pdir/etc" ;; esac
cat > "$pdir/etc/main.cf" <<CONF
compatibility_level = 3.6
queue_directory = $pdir/spool
data_directory = $pdir/data
mail_owner = postfix
setgid_group = postdrop
myhostname = bench.localhost
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mydestination =
mynetworks = 127.0.0.0/8
virtual_mailbox_domains = example.test
virtual_transport = lmtp:inet:127.0.0.1:$DOVECOT_LMTP_PORT
smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination
maillog_file = $pdir/maillog
maillog_file_prefixes = $pdir
smtputf8_enable = no
biff = no
CONF
postconf -c "$pdir/etc" -M# smtp/inet
postconf -c "$pdir/etc" -Me "127.0.0.1:$pport/inet = 127.0.0.1:$pport inet n - n - - smtpd"
postconf -c "$pdir/etc" -F '*/*/chroot = n'
postfix -c "$pdir/etc" start >/dev/null 2>&1 || { tail -5 "$pdir/maillog"; exit 1; }
for _ in $(seq 1 30); do (echo > /dev/tcp/127.0.0.1/$pport) 2>/dev/null && break; sleep 0.5; done

# MailCloud's own processes, for the CPU split: the host (front ends and functions in one process) and Azurite.
host_pid=$(pgrep -f "mailcloud.dll up --data $work/mailcloud" | head -1)
azurite_pid=$(pgrep -f "azurite.js.*$work/mailcloud" | head -1)

# Both servers, each mode, alternating.
for mode in reuse new; do
  python3 "$repo/tests/bench/lib/end_to_end.py" "Postfix+Dovecot" "$pport" "$dport" "$user" "$pass" "$count" "$size" /usr/sbin/smtp-source "$mode" >> "$work/dovecot.tsv"
  BENCH_PIDS="the host (dotnet)=$host_pid,Azurite (node)=$azurite_pid" python3 "$repo/tests/bench/lib/end_to_end.py" MailCloud "$mx_port" "$imaps" "$user" "$pass" "$count" "$size" /usr/sbin/smtp-source "$mode" >> "$work/mailcloud.tsv"
done
echo "End to end, $count × $size bytes, 10 sessions, $(nproc) cores"
python3 - "$work/mailcloud.tsv" "$work/dovecot.tsv" <<'PY'
import sys
mc = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
pd = {r: float(v) for _, r, v in (l.rstrip("\n").split("\t") for l in open(sys.argv[2]))}
print(f"| what | Postfix + Dovecot | MailCloud | ratio |")
print(f"|---|---|---|---|")
for _, r, v in mc:
    v = float(v)
    if r in pd:
        print(f"| {r} | {pd[r]:.1f} | {v:.1f} | {v / pd[r]:.2f} |")
    else:
        print(f"| {r} | | {v:.1f} | |")
PY
