#!/bin/sh
# SPDX-License-Identifier: ISC
# Thunderbird against a real postroomd.  A hand-made profile (IMAP over
# implicit TLS, submission over implicit TLS, the password already in its
# login store, the self-signed certificate accepted) runs under a virtual
# X server for a bounded time while the test delivers mail and, when
# xdotool is there, writes and sends one message.  The checks are what a
# Thunderbird user depends on: login, LIST, SELECT of INBOX, the header
# FETCH, new mail pushed through IDLE, our special-use folders used rather
# than new ones created, sending saved to Sent, and not one BAD or NO
# reply.  The server's debug log says which commands ran; Thunderbird's
# own protocol log (MOZ_LOG) holds every reply line, TLS or not.
#
# CONDSTORE is turned on in the profile (mail.server.*.use_condstore), as
# users do to make flag sync cheaper: Thunderbird then asks for
# "UID FETCH 1:* (FLAGS) (CHANGEDSINCE 0)" on its first sync of a folder.
# POSTROOM_TB_CONDSTORE=no keeps Thunderbird's default (off).
#
# Exit status 77 (skipped) without thunderbird, xvfb-run or python3.
# Each check prints "ok - name" or "not ok - name"; the last line is
# "== P passed, F failed".  It takes about 25 s (two minutes when checks
# fail and their waits run out) and needs Debian's thunderbird, xvfb and
# xdotool (about 500 MB, not installed by scripts/deps.sh; the suite then
# reports this file as skipped).  POSTROOM_KEEP_TMP=1 keeps the profile
# and the logs.

here=$(cd "$(dirname "$0")" && pwd)
self="$here/test_thunderbird.sh"

# Inside xvfb-run: publish the display and its X authority file for
# xdotool, then become Thunderbird.
if [ "${1:-}" = "--inside" ]; then
	printf '%s\n%s\n' "$DISPLAY" "${XAUTHORITY:-}" >"$2.tmp" && mv "$2.tmp" "$2"
	exec thunderbird --profile "$3" --no-remote
fi

for tool in thunderbird xvfb-run python3; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "skipped: $tool not found"
		exit 77
	fi
done

# The harness starts the server with its debug log on, runs this script
# again with PR_* set to describe it, and stops the server afterwards.
if [ -z "${PR_PID:-}" ]; then
	POSTROOM_TEST_DEBUG=1
	export POSTROOM_TEST_DEBUG
	exec python3 "$here/postroom_harness.py" exec sh "$self"
fi

started=$(date +%s)
work=$(mktemp -d "${TMPDIR:-/tmp}/postroom-tb.XXXXXX")
chmod 755 "$work"
prof=$work/profile
moz=$work/moz.log
mozlog=$moz.moz_log
user=alice@example.test
pass=0
fail=0
tbgroup=

stop_thunderbird() {
	[ -n "$tbgroup" ] || return 0
	# Thunderbird, xvfb-run and its X server share one process group,
	# started by this script: end that group, by its id.
	kill -TERM "-$tbgroup" 2>/dev/null
	i=0
	while kill -0 "-$tbgroup" 2>/dev/null && [ $i -lt 30 ]; do
		sleep 0.5
		i=$((i + 1))
	done
	kill -KILL "-$tbgroup" 2>/dev/null
	wait "$tbgroup" 2>/dev/null
	tbgroup=
}

cleanup() {
	stop_thunderbird
	if [ -n "${POSTROOM_KEEP_TMP:-}" ]; then
		echo "# kept $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

result() {	# status name [detail-file]
	if [ "$1" -eq 0 ]; then
		pass=$((pass + 1)); echo "ok - $2"
	else
		fail=$((fail + 1)); echo "not ok - $2"
		[ -n "${3:-}" ] && [ -s "$3" ] && sed -n '1,20p' "$3" | sed 's/^/#   /'
	fi
}

# wait_for FILE REGEX SECONDS: until an extended regex matches a line.
wait_for() {
	n=$(($3 * 4))
	while [ $n -gt 0 ]; do
		grep -Eq -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.25
		n=$((n - 1))
	done
	return 1
}

# The reply lines Thunderbird read from the server, without its prefixes.
replies() {
	sed -n 's/^.*CreateNewLineFromSocket: //p' "$mozlog" 2>/dev/null
}

sent_commands() {
	sed -n 's/^.*SendData: //p' "$mozlog" 2>/dev/null
}

# ------------------------------------------------------------ the profile

condstore=true
case ${POSTROOM_TB_CONDSTORE:-yes} in no|0|false) condstore=false ;; esac
# Thunderbird carries its own NSS, newer than the system's.
tblib=${THUNDERBIRD_LIBDIR:-/usr/lib/thunderbird}

if ! LD_LIBRARY_PATH=$tblib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} \
    python3 - "$prof" "$PR_PORT_IMAPS" "$PR_PORT_SUBMISSIONS" "$user" \
    "$PR_PW_ALICE" "$PR_DATA/tls/cert.pem" "$condstore" "$tblib" \
    >"$work/profile.out" 2>&1 <<'EOF'
import base64, ctypes, ctypes.util, hashlib, json, os, ssl, sys, time, uuid

prof, imap_port, smtp_port, user, password, cert, condstore, libdir = sys.argv[1:9]
os.makedirs(prof)

# One IMAP account (implicit TLS, password) and its identity, one SMTP
# server (implicit TLS), Local Folders, and no first-run dialogs.  New mail
# must come through IDLE: the periodic check is set far beyond the run.
prefs = {
    "mail.accountmanager.accounts": "account1,account2",
    "mail.accountmanager.defaultaccount": "account1",
    "mail.accountmanager.localfoldersserver": "server2",
    "mail.account.account1.identities": "id1",
    "mail.account.account1.server": "server1",
    "mail.account.account2.server": "server2",
    "mail.identity.id1.fullName": "Alice Example",
    "mail.identity.id1.useremail": user,
    "mail.identity.id1.smtpServer": "smtp1",
    "mail.identity.id1.valid": True,
    "mail.server.server1.type": "imap",
    "mail.server.server1.hostname": "127.0.0.1",
    "mail.server.server1.port": int(imap_port),
    "mail.server.server1.socketType": 3,
    "mail.server.server1.authMethod": 3,
    "mail.server.server1.userName": user,
    "mail.server.server1.name": user,
    "mail.server.server1.login_at_startup": True,
    "mail.server.server1.check_new_mail": True,
    "mail.server.server1.check_time": 600,
    "mail.server.server1.use_idle": True,
    "mail.server.server1.use_condstore": condstore == "true",
    "mail.server.server2.type": "none",
    "mail.server.server2.hostname": "Local Folders",
    "mail.server.server2.name": "Local Folders",
    "mail.server.server2.userName": "nobody",
    "mail.smtpservers": "smtp1",
    "mail.smtp.defaultserver": "smtp1",
    "mail.smtpserver.smtp1.hostname": "127.0.0.1",
    "mail.smtpserver.smtp1.port": int(smtp_port),
    "mail.smtpserver.smtp1.try_ssl": 3,
    "mail.smtpserver.smtp1.authMethod": 3,
    "mail.smtpserver.smtp1.username": user,
    "mail.provider.suppress_dialog_on_startup": True,
    "mail.shell.checkDefaultClient": False,
    "mail.spotlight.firstRunDone": True,
    "mail.winsearch.firstRunDone": True,
    "mail.rights.version": 1,
    "mail.warn_on_send_accel_key": False,
    "mail.inappnotifications.enabled": False,
    "mailnews.start_page.enabled": False,
    "mailnews.auto_config_url": "",
    "mailnews.database.global.indexer.enabled": False,
    "app.update.auto": False,
    "app.donation.eoy.version.viewed": 999,
    "datareporting.policy.dataSubmissionEnabled": False,
    "datareporting.healthreport.uploadEnabled": False,
    "toolkit.telemetry.reportingpolicy.firstRun": False,
    "extensions.update.enabled": False,
    "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False,
    "signon.rememberSignons": True,
}
with open(os.path.join(prof, "prefs.js"), "w") as f:
    for k, v in prefs.items():
        f.write("user_pref(%s, %s);\n" % (json.dumps(k), json.dumps(v)))

# The password: logins.json entries are encrypted with the profile's own
# key (key4.db, empty primary password), so make that key with
# Thunderbird's NSS and encrypt through it.
path = os.path.join(libdir, "libnss3.so")
if not os.path.exists(path):
    path = ctypes.util.find_library("nss3")
if not path:
    sys.exit("libnss3 not found")
nss = ctypes.CDLL(path)


class SECItem(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("data", ctypes.c_void_p),
                ("len", ctypes.c_uint)]


nss.NSS_InitReadWrite.argtypes = [ctypes.c_char_p]
nss.PK11_GetInternalKeySlot.restype = ctypes.c_void_p
nss.PK11_NeedUserInit.argtypes = [ctypes.c_void_p]
nss.PK11_InitPin.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_char_p]
nss.PK11_Authenticate.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
nss.PK11_FreeSlot.argtypes = [ctypes.c_void_p]
nss.PK11SDR_Encrypt.argtypes = [ctypes.POINTER(SECItem)] * 3 + [ctypes.c_void_p]
if nss.NSS_InitReadWrite(("sql:" + prof).encode()) != 0:
    sys.exit("NSS_InitReadWrite failed")
slot = nss.PK11_GetInternalKeySlot()
if nss.PK11_NeedUserInit(slot) and nss.PK11_InitPin(slot, None, b"") != 0:
    sys.exit("PK11_InitPin failed")
nss.PK11_Authenticate(slot, 1, None)


def encrypt(text):
    raw = text.encode()
    buf = ctypes.create_string_buffer(raw, len(raw))
    data = SECItem(0, ctypes.cast(buf, ctypes.c_void_p), len(raw))
    keyid, out = SECItem(0, None, 0), SECItem(0, None, 0)
    if nss.PK11SDR_Encrypt(ctypes.byref(keyid), ctypes.byref(data),
                           ctypes.byref(out), None) != 0:
        sys.exit("PK11SDR_Encrypt failed")
    return base64.b64encode(ctypes.string_at(out.data, out.len)).decode()


now = int(time.time() * 1000)
logins = []
for n, scheme in enumerate(("imap", "smtp"), 1):
    origin = scheme + "://127.0.0.1"
    logins.append({"id": n, "hostname": origin, "httpRealm": origin,
                   "formSubmitURL": None, "usernameField": "",
                   "passwordField": "", "encryptedUsername": encrypt(user),
                   "encryptedPassword": encrypt(password),
                   "guid": "{%s}" % uuid.uuid4(), "encType": 1,
                   "timeCreated": now, "timeLastUsed": now,
                   "timePasswordChanged": now, "timesUsed": 1})
nss.PK11_FreeSlot(slot)
nss.NSS_Shutdown()
with open(os.path.join(prof, "logins.json"), "w") as f:
    json.dump({"nextId": len(logins) + 1, "logins": logins,
               "potentiallyVulnerablePasswords": [],
               "dismissedBreachAlertsByLoginGUID": {}, "version": 3}, f)

# The self-signed certificate, accepted for both ports by its SHA-256.
with open(cert) as f:
    der = ssl.PEM_cert_to_DER_cert(f.read())
fp = ":".join("%02X" % b for b in hashlib.sha256(der).digest())
with open(os.path.join(prof, "cert_override.txt"), "w") as f:
    f.write("# PSM Certificate Override Settings file\n")
    for port in (imap_port, smtp_port):
        f.write("127.0.0.1:%s:\tOID.2.16.840.1.101.3.4.2.1\t%s\tMU\t\n"
                % (port, fp))
EOF
then
	echo "skipped: cannot make a Thunderbird profile:"
	sed 's/^/#   /' "$work/profile.out"
	exit 77
fi

# deliver SUBJECT: one message for alice over port 25, unauthenticated.
deliver() {
	python3 - "$PR_PORT_SMTP" "$user" "$1" <<'EOF'
import smtplib, sys
port, rcpt, subject = sys.argv[1:4]
msg = ("From: Sender <sender@outside.test>\r\nTo: %s\r\nSubject: %s\r\n"
       "Date: Mon, 02 Mar 2026 10:00:00 +0000\r\n"
       "Message-ID: <%s@outside.test>\r\nMIME-Version: 1.0\r\n"
       "Content-Type: text/plain; charset=utf-8\r\n\r\n"
       "Body of %s.\r\n" % (rcpt, subject, subject, subject))
s = smtplib.SMTP("127.0.0.1", int(port), timeout=15)
s.sendmail("sender@outside.test", [rcpt], msg)
s.quit()
EOF
}

tag=$$-$(date +%s)
for n in 1 2 3; do
	deliver "smoke-$tag-old-$n" || { echo "not ok - delivery before start"; exit 1; }
done

# ------------------------------------------------------------ Thunderbird

mkdir "$work/home"
HOME=$work/home MOZ_LOG=sync,timestamp,IMAP:5,SMTP:5 MOZ_LOG_FILE=$moz \
    setsid xvfb-run -a -s "-screen 0 1280x900x24 -nolisten tcp" \
    sh "$self" --inside "$work/display" "$prof" >"$work/thunderbird.out" 2>&1 &
tbgroup=$!

# First sync: login, folder list, INBOX, headers, then IDLE.
wait_for "$PR_LOG" 'imap .*cmd=IDLE' 90
idle_seen=$?

# New mail while Thunderbird idles must reach it without a poll.
if [ $idle_seen -eq 0 ]; then
	deliver "smoke-$tag-new" && wait_for "$mozlog" "Subject: smoke-$tag-new" 30
	pushed=$?
else
	pushed=1
fi

# Write and send one message through the interface when it can be driven.
sent=skip
if command -v xdotool >/dev/null 2>&1 && [ $idle_seen -eq 0 ] &&
    wait_for "$work/display" . 5; then
	DISPLAY=$(sed -n 1p "$work/display")
	XAUTHORITY=$(sed -n 2p "$work/display")
	export DISPLAY XAUTHORITY
	xdotool mousemove 600 450 key ctrl+n
	n=0
	while ! xdotool search --name '^Write: ' >/dev/null 2>&1 && [ $n -lt 40 ]; do
		sleep 0.5
		n=$((n + 1))
	done
	sleep 2
	xdotool type --delay 20 "$user"
	xdotool key alt+s
	xdotool type --delay 20 "smoke-$tag-sent"
	xdotool key Tab
	xdotool type --delay 20 "Sent by the smoke test."
	xdotool key ctrl+Return
	wait_for "$PR_LOG" 'imap .*event=append ' 40
	sent=$?
fi
sleep 2
stop_thunderbird

# ------------------------------------------------------------ the checks

log=$work/check.out

if replies | grep -q .; then r=0; else r=1; fi
result $r "Thunderbird's protocol log has the server's replies"

grep -E "imap .*event=(login|login-failed) " "$PR_LOG" >"$log"
grep -q "event=login user=$user " "$log" && ! grep -q 'login-failed' "$log"
result $? "IMAP login with the stored password, no failed login" "$log"

grep -q 'imap .*event=tls ' "$PR_LOG"
result $? "IMAP over TLS with the accepted self-signed certificate"

grep -Eq 'imap .*cmd=LIST ' "$PR_LOG" &&
    replies | grep -Eq '^\* LIST \([^)]*\\Sent[) ]'
result $? "LIST with SPECIAL-USE attributes"

# INBOX held the three messages delivered before the start.
grep -Eq 'imap .*event=select mailbox=[0-9]+ messages=3$' "$PR_LOG" &&
    sent_commands | grep -Eiq '^[^ ]+ select "INBOX"'
result $? "SELECT INBOX"

sent_commands | grep -Eq 'UID fetch [^ ]+ \(UID RFC822.SIZE FLAGS BODY.PEEK\[HEADER.FIELDS' &&
    [ "$(replies | grep -c "^Subject: smoke-$tag-old-")" -ge 3 ]
result $? "FETCH of the headers of every INBOX message"

[ $idle_seen -eq 0 ]
result $? "IDLE"

[ $pushed -eq 0 ]
result $? "new mail delivered during IDLE reaches Thunderbird"

# Thunderbird must use the folders the server names, not make its own.
grep -E 'imap .*cmd=CREATE ' "$PR_LOG" >"$log"
[ ! -s "$log" ]
result $? "no folder created (Sent/Drafts/Trash found by SPECIAL-USE)" "$log"

replies | grep -E '^([^ +*]+|\*) BAD( |$)' >"$log"
[ ! -s "$log" ]
result $? "no BAD reply" "$log"

replies | grep -E '^[^ +*]+ NO( |$)' >"$log"
[ ! -s "$log" ]
result $? "no NO reply" "$log"

if [ "$sent" = skip ]; then
	echo "ok - sending from the interface # skip: xdotool not available"
else
	grep -Eq "smtp .*event=stored .*from=<$user>" "$PR_LOG" &&
	    [ "$sent" -eq 0 ] && sent_commands | grep -Eq '^[^ ]+ append "Sent"'
	result $? "message sent over submission and saved to Sent with APPEND"
fi

echo "# run time $(( $(date +%s) - started ))s"
echo "== $pass passed, $fail failed"
[ "$fail" -eq 0 ]
