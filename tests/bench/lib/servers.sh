# Shared by the side-by-side IMAP benchmarks: MailCloud (./mailcloud up on Azurite, every listener on a free port so a
# running ./mailcloud up is not disturbed) and a throwaway Dovecot from Debian (dovecot-imapd, installed when missing,
# passwd-file user, maildir), both with the same user. Source it after setting repo and work; it sets imaps (MailCloud's
# IMAPS port), dport (Dovecot's), user and pass, and stops Dovecot on exit. $work/restart-mailcloud and
# $work/restart-dovecot stop a server and start it again on the same data and ports (for rows after a restart). MAILCLOUD_* and DOVECOT_LMTP_PORT set
# before sourcing reach the two servers (the end-to-end benchmark uses them).
source "$repo/tests/bench/lib/ports.sh"
user=tester@example.test pass='test password'
trap 'eval "${bench_cleanup:-}"; kill $(jobs -p) 2>/dev/null || true; pkill -TERM -f "mailcloud.dll up --data $work/mailcloud" 2>/dev/null || true; [ -f "$work/dovecot/dovecot.conf" ] && dovecot -c "$work/dovecot/dovecot.conf" stop 2>/dev/null || true; sleep 1; rm -rf "$work" "$ports_taken"' EXIT

# MailCloud: every listener on a free port, so a running ./mailcloud up is not disturbed.
storage=$(free_port 3); imaps=$(free_port)
export MAILCLOUD_SMTP_PORT=$(free_port) MAILCLOUD_SUBMISSION_PORT=$(free_port) MAILCLOUD_SUBMISSIONS_PORT=$(free_port) \
  MAILCLOUD_IMAP_PORT=$(free_port) MAILCLOUD_IMAPS_PORT=$imaps MAILCLOUD_POP3_PORT=$(free_port) MAILCLOUD_POP3S_PORT=$(free_port) \
  MAILCLOUD_WEB_PORT=$(free_port) MAILCLOUD_MAX_CONNECTIONS_PER_ADDRESS=500
"$repo/mailcloud" up --data "$work/mailcloud" --storage-port "$storage" > "$work/up.log" 2>&1 &
for _ in $(seq 1 120); do grep -q "MailCloud is up" "$work/up.log" && break; sleep 1; done
grep -q "MailCloud is up" "$work/up.log" || { cat "$work/up.log"; exit 1; }
export MAILCLOUD_STORAGE="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:$storage/devstoreaccount1;QueueEndpoint=http://127.0.0.1:$((storage+1))/devstoreaccount1;TableEndpoint=http://127.0.0.1:$((storage+2))/devstoreaccount1"
"$repo/mailcloud" domain add example.test >/dev/null
echo "$pass" | "$repo/mailcloud" user add "$user" --password-stdin >/dev/null

# Dovecot: a throwaway instance with a passwd-file user and maildir storage.
if ! command -v dovecot >/dev/null || [ ! -x /usr/lib/dovecot/lmtp ]; then
  apt-get install -y -qq --no-install-recommends dovecot-imapd dovecot-lmtpd >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq --no-install-recommends dovecot-imapd dovecot-lmtpd >/dev/null; }
fi
dport=$(free_port)
mkdir -p "$work/dovecot/run" "$work/dovecot/home"
chown nobody:nogroup "$work/dovecot/home" # Dovecot refuses to run mail processes as root
chmod 755 "$work" "$work/dovecot"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/dovecot/key.pem" -out "$work/dovecot/cert.pem" -days 2 -subj /CN=localhost >/dev/null 2>&1
echo "$user:{PLAIN}$pass" > "$work/dovecot/passwd"
cat > "$work/dovecot/dovecot.conf" <<CONF
protocols = imap${DOVECOT_LMTP_PORT:+ lmtp}
listen = 127.0.0.1
base_dir = $work/dovecot/run
instance_name = mailcloud-bench
ssl = required
ssl_cert = <$work/dovecot/cert.pem
ssl_key = <$work/dovecot/key.pem
auth_mechanisms = plain
disable_plaintext_auth = no
passdb {
  driver = passwd-file
  args = $work/dovecot/passwd
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$work/dovecot/home/%u${DOVECOT_LMTP_PORT:+ allow_all_users=yes}
}
mail_location = maildir:~/Maildir
mail_max_userip_connections = 500
log_path = $work/dovecot/dovecot.log
service imap-login {
  inet_listener imap {
    port = 0
  }
  inet_listener imaps {
    port = $dport
    ssl = yes
  }
}
CONF
# With DOVECOT_LMTP_PORT set (the end-to-end benchmark): LMTP on that port for a Postfix in front.
[ -z "${DOVECOT_LMTP_PORT:-}" ] || cat >> "$work/dovecot/dovecot.conf" <<CONF
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $DOVECOT_LMTP_PORT
  }
}
CONF
dovecot -c "$work/dovecot/dovecot.conf"
for _ in $(seq 1 30); do (echo > /dev/tcp/127.0.0.1/$dport) 2>/dev/null && break; sleep 0.5; done

# Restarts, on the same data, ports and settings. MailCloud: the whole './mailcloud up' (front ends, functions and
# Azurite, which reloads its data from disk), so nothing of the host's memory is left; started again without
# MAILCLOUD_STORAGE (set above for the CLI), which would make 'up' use that storage instead of starting Azurite.
cat > "$work/restart-mailcloud" <<SH
#!/usr/bin/env bash
set -euo pipefail
pkill -TERM -f "mailcloud.dll up --data $work/mailcloud" || true
for _ in \$(seq 1 120); do pgrep -f "mailcloud.dll up --data $work/mailcloud" >/dev/null || break; sleep 0.5; done
unset MAILCLOUD_STORAGE
setsid "$repo/mailcloud" up --data "$work/mailcloud" --storage-port "$storage" > "$work/up-again.log" 2>&1 < /dev/null &
for _ in \$(seq 1 240); do grep -q "MailCloud is up" "$work/up-again.log" && exit 0; sleep 0.5; done
cat "$work/up-again.log" >&2
exit 1
SH
cat > "$work/restart-dovecot" <<SH
#!/usr/bin/env bash
set -euo pipefail
dovecot -c "$work/dovecot/dovecot.conf" stop
for _ in \$(seq 1 60); do (echo > /dev/tcp/127.0.0.1/$dport) 2>/dev/null || break; sleep 0.5; done
dovecot -c "$work/dovecot/dovecot.conf"
for _ in \$(seq 1 60); do (echo > /dev/tcp/127.0.0.1/$dport) 2>/dev/null && exit 0; sleep 0.5; done
exit 1
SH
chmod +x "$work/restart-mailcloud" "$work/restart-dovecot"
