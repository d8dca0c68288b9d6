#!/usr/bin/env bash
# tests/web/text-browser.sh - the configuration tool in lynx, keystroke by
# keystroke through tmux (tests/web/run.sh sets the tool up and calls this).
#
# Usage: text-browser.sh            the pages and edits, no daemon running
#        text-browser.sh daemons    the status page with lvsd -t and pulse -t
#                                   running (run.sh starts them)
#
# Environment (from run.sh): URL (lvs-web), T (the temporary directory:
# etc/lvs.cf is the file lvs-admin edits, lvs.cf.orig its first version,
# web.log lvs-web's audit lines), WEB_USER / WEB_PASSWORD (an editor),
# WEB_ADMIN_PASSWORD (user piranha, admin), WEB_VIEWER_PASSWORD (user vera,
# viewer), TMUX_SOCKET (the socket of this run's own tmux server); for
# "daemons", LVSD_PID (lvsd's pid) and HB_PORT (pulse's heartbeat port).
#
# lynx runs with numbered links and fields (-number_fields) in a window tall
# enough to show every page whole; the cursor goes to link N with Up/Down
# from where the screen shows it (goto). A wait after a click looks for
# text only the new page has: keys sent while lynx still loads the answer
# are eaten by lynx (it reads the keyboard during a transfer to notice an
# interrupt) or land on the old page. Every wait polls the
# screen every 0.1 s for at most WAIT seconds. A page or action that lynx
# cannot complete fails its step; the steps after it still run where they
# can. Prints one "ok" or "FAIL" line per step and
# "web (text browser): N passed, M failed" (for "daemons", "web (text
# browser, daemons running): ..."); exit status 1 on any failure.
set -uo pipefail
: "${URL:?}" "${T:?}" "${WEB_USER:?}" "${WEB_PASSWORD:?}" "${TMUX_SOCKET:?}"
: "${WEB_ADMIN_PASSWORD:?}" "${WEB_VIEWER_PASSWORD:?}"
PART=${1:-edits}
case $PART in
edits) SUMMARY="web (text browser)" ;;
daemons) SUMMARY="web (text browser, daemons running)"; : "${LVSD_PID:?}" "${HB_PORT:?}" ;;
*) echo "tests/web/text-browser.sh: unknown part \"$PART\" (edits or daemons)" >&2; exit 2 ;;
esac

WAIT=${WAIT:-5}
PASSES=0 FAILS=0
ok() { echo "ok    $*"; PASSES=$((PASSES + 1)); }
fail() { echo "FAIL  $*"; FAILS=$((FAILS + 1)); }
# check DESCRIPTION COMMAND...: ok or FAIL after the command's status.
check() { local d=$1; shift; if "$@"; then ok "$d"; else fail "$d"; fi; }

tm() { tmux -S "$TMUX_SOCKET" "$@"; }
screen() { tm capture-pane -p; }
# The screen when a step failed, so the log shows what lynx showed.
show() { screen | grep -v '^[[:space:]]*$' | sed 's/^/      | /'; }
has() { screen | grep -qF -- "$1"; }
# wait_for TEXT...: until every TEXT is on the screen (WAIT seconds).
wait_for() {
    local i t all
    for ((i = 0; i < WAIT * 10; i++)); do
        all=1
        for t in "$@"; do has "$t" || { all=0; break; }; done
        [ "$all" = 1 ] && return 0
        sleep 0.1
    done
    return 1
}

# wait_gone TEXT: until TEXT is off the screen (a page that replaces one
# sharing the rest of its text).
wait_gone() {
    local i
    for ((i = 0; i < WAIT * 10; i++)); do
        has "$1" || return 0
        sleep 0.1
    done
    return 1
}

# wait_re REGEX / wait_no_re REGEX: until a line of the screen matches
# the extended regular expression / until none does (WAIT seconds).
wait_re() {
    local i
    for ((i = 0; i < WAIT * 10; i++)); do
        screen | grep -qE -- "$1" && return 0
        sleep 0.1
    done
    return 1
}
wait_no_re() {
    local i
    for ((i = 0; i < WAIT * 10; i++)); do
        screen | grep -qE -- "$1" || return 0
        sleep 0.1
    done
    return 1
}

# The number lynx gives the link or button whose text starts with LABEL
# ("[12]web1", "([1]BUTTON) Log out"): the first on the page, or the Nth.
link_num() {
    screen | awk -v s="$1" -v nth="${2:-1}" '{
        line = $0
        while ((i = index(line, "]" s)) > 0) {
            pre = substr(line, 1, i - 1)
            if (match(pre, /\[[0-9]+$/) && ++seen == nth) { print substr(pre, RSTART + 1); exit }
            line = substr(line, i + 1)
        }
    }'
}
# The number of link LABEL (or of the first link) at or after the first
# line matching the regular expression ROW: a table row's link, which lynx
# may have wrapped onto the next line.
row_num() {
    screen | awk -v re="$1" -v s="${2:-}" '
        !found && $0 ~ re { found = 1 }
        found {
            line = $0
            while ((i = index(line, "]" s)) > 0) {
                pre = substr(line, 1, i - 1)
                if (match(pre, /\[[0-9]+$/)) { print substr(pre, RSTART + 1); exit }
                line = substr(line, i + 1)
            }
        }'
}
# The number of the form field just after LABEL ("Weight [14]100___").
field_num() {
    screen | awk -v s="$1 [" '{
        if ((i = index($0, s)) > 0) {
            rest = substr($0, i + length(s))
            if (match(rest, /^[0-9]+\]/)) { print substr(rest, 1, RLENGTH - 1); exit }
        }
    }'
}

# The number of the link or field lynx's cursor is on, read from the
# screen: lynx draws the current one in reverse video just after its
# "[N]" (the title line's reverse-video arrows have no number). Empty
# while no link is highlighted. Read, not counted from the keys sent:
# lynx does not always start a page on its first link (after ADD on a
# list, the list again has its cursor on ADD) and eats keys sent while
# it loads.
cur_link() {
    tm capture-pane -e -p | awk '{
        line = $0; text = ""
        while (match(line, /\033\[[0-9;]*m/)) {
            seq = substr(line, RSTART + 2, RLENGTH - 3)
            text = text substr(line, 1, RSTART - 1)
            line = substr(line, RSTART + RLENGTH)
            n = split(seq, p, ";")
            for (k = 1; k <= n; k++) {
                if (p[k] == "7" && match(text, /\[[0-9]+\][^\[]*$/)) {
                    s = substr(text, RSTART + 1); sub(/\].*/, "", s); print s
                    exit
                }
            }
        }
    }'
}
# goto N: move lynx's cursor to link N with Up/Down from where the screen
# shows it. After each batch of keys, wait until the cursor stops moving;
# if it rests anywhere but N (a key lost), move again from there.
goto() {
    local n=$1 cur="" last try i still
    for ((try = 0; try < 5; try++)); do
        for ((i = 0; i < WAIT * 10; i++)); do
            cur=$(cur_link)
            [ -n "$cur" ] && break
            sleep 0.1
        done
        [ -n "$cur" ] || { echo "      no current link on the screen"; return 1; }
        [ "$cur" = "$n" ] && return 0
        if [ "$n" -gt "$cur" ]; then
            tm send-keys -N $((n - cur)) Down
        else
            tm send-keys -N $((cur - n)) Up
        fi
        still=0 last=$cur
        for ((i = 0; i < WAIT * 10 && still < 10; i++)); do
            sleep 0.1
            cur=$(cur_link)
            [ "$cur" = "$n" ] && return 0
            if [ "$cur" = "$last" ]; then still=$((still + 1)); else still=0 last=$cur; fi
        done
    done
    echo "      the cursor rests on link $cur, not on $n"
    return 1
}
# activate LABEL [NTH]: follow the link or press the button LABEL (the
# NTH of that name).
activate() {
    local n
    n=$(link_num "$1" "${2:-1}")
    [ -n "$n" ] || { echo "      no link or button \"$1\" on the page"; return 1; }
    goto "$n" || return 1
    tm send-keys Enter
}
# activate_row ROW [LABEL]: the same for row_num's link.
activate_row() {
    local n
    n=$(row_num "$1" "${2:-}")
    [ -n "$n" ] || { echo "      no link ${2:-} in a row matching /$1/"; return 1; }
    goto "$n" || return 1
    tm send-keys Enter
}
# fill LABEL VALUE: replace the text of the field after LABEL.
fill() {
    local n
    n=$(field_num "$1")
    [ -n "$n" ] || { echo "      no field \"$1\" on the page"; return 1; }
    goto "$n" || return 1
    tm send-keys C-u
    tm send-keys -l -- "$2"
}
# open LABEL TEXT...: follow LABEL and wait for the page showing every TEXT.
open() {
    local label=$1
    shift
    activate "$label" && wait_for "$@"
}
# login USER PASSWORD ROLE: from the login page to CONTROL/MONITORING.
login() {
    if fill "User name" "$1" && fill "Password" "$2" &&
        open "BUTTON) Login" "Logged in as $1 ($3)" "CONTROL/MONITORING - lvs-web"; then
        ok "log in as $1 ($3): CONTROL/MONITORING"
    else
        fail "log in as $1 ($3): CONTROL/MONITORING"; show
    fi
}
# logout USER: back to the login page, and the audit log says so.
logout() {
    step_page "$1 logs out" "BUTTON) Log out" "Log in" "User name"
    if grep -q "logout user=$1 " "$T/web.log"; then
        ok "the audit log has $1's logout"
    else
        fail "the audit log has $1's logout"
    fi
}
step_page() {
    local desc=$1
    shift
    if open "$@"; then ok "$desc"; else fail "$desc"; show; fi
}
# step_row DESCRIPTION ROW LABEL TEXT...: the same through activate_row.
step_row() {
    local desc=$1 row=$2 label=$3
    shift 3
    if activate_row "$row" "$label" && wait_for "$@"; then ok "$desc"; else fail "$desc"; show; fi
}
# Rows of the lists, whatever the spacing lynx gives the table.
ROW_WWW='203\.0\.113\.10 +255\.255\.255\.0 +80 '
ROW_WWW_TLS='www-tls +203\.0\.113\.10'
ROW_FTP='ftp +203\.0\.113\.12'
ROW_WEB2='web2 +192\.0\.2\.12'
ROW_WEB3='web3 +192\.0\.2\.13'
# imap's row in the list; its name typed into the Name field before ADD is
# padded with "_" and so does not match.
ROW_IMAP='\]imap( |$)'
ROW_REV1='^ +1 +[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] '
ROW_REV2='^ +2 +[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] '

# -- lynx --------------------------------------------------------------------
cat >"$T/lynx.cfg" <<'EOF'
INCLUDE:/etc/lynx/lynx.cfg
ACCEPT_ALL_COOKIES:TRUE
SET_COOKIES:TRUE
PERSISTENT_COOKIES:FALSE
CHARACTER_SET:utf-8
INFOSECS:0
MESSAGESECS:0
ALERTSECS:0
NO_PAUSE:TRUE
EOF
mkdir -p "$T/lynx-home"
tm -f /dev/null new-session -d -x 160 -y 250 \
    "HOME=$T/lynx-home TERM=xterm lynx -cfg=$T/lynx.cfg -accept_all_cookies -number_fields -nocolor $URL/"

echo "== $SUMMARY: lynx $(lynx -version | sed -n '1s/^Lynx Version \([^ ]*\).*/\1/p') on $URL"

if wait_for "Log in" "User name" "Password"; then
    ok "GET / shows the login page"
else
    fail "GET / shows the login page"; show
fi

# finish: quit lynx and its tmux server, print the summary; the status.
finish() {
    tm send-keys Q
    sleep 0.2
    tm kill-server 2>/dev/null
    echo "$SUMMARY: $PASSES passed, $FAILS failed"
    [ "$FAILS" = 0 ]
}

# see DESCRIPTION REGEX: a line of the screen matches REGEX (ERE).
see() {
    if screen | grep -qE -- "$2"; then ok "$1"; else fail "$1"; show; fi
}

# -- the status page with lvsd -t and pulse -t running ----------------------
# lvsd -t writes nothing to a table and runs no monitor: every virtual is
# shown not installed, every real server's health unknown, out of the
# table (weight -) and never checked; no server may be shown up.
if [ "$PART" = daemons ]; then
    login vera "$WEB_VIEWER_PASSWORD" viewer
    see "pulse: running, test start" '^ +pulse +running --test-start: starts no lvsd *$'
    see "pulse's own file named" "^ +pulse reads +$T/etc/pulse\.cf, not the file edited here *\$"
    see "pulse's role: backup, inactive" '^ +Role +backup \(inactive\) *$'
    see "pulse's partner: 127.0.0.2, no heartbeat yet" \
        "^ +Partner heartbeat \(public\) +127\.0\.0\.2:$HB_PORT: no heartbeat yet *\$"
    see "pulse holds no VIP" '^ +VIPs held +none *$'
    see "lvsd: running, test start" '^ +lvsd +running --test-start: no IPVS writes, no checks *$'
    see "lvsd's pid $LVSD_PID, no reload, no write" \
        "^ +lvsd reloads +pid $LVSD_PID, 0 reloads, last reload 0 writes, 0 writes in all *\$"
    see "virtual www: TCP 203.0.113.10:80 wlc, not installed" \
        'virtual www: TCP +203\.0\.113\.10:80 wlc persistent 300 mask 255\.255\.255\.0 \[not installed\]'
    see "virtual www-tls: TCP 203.0.113.10:443 wrr, not installed" \
        'virtual www-tls: TCP +203\.0\.113\.10:443 wrr \[not installed\]'
    see "virtual ftp: FWM 21 rr, not installed" 'virtual ftp: FWM +21 rr persistent 600 \[not installed\]'
    for row in 'web1 192.0.2.11:80' 'web2 192.0.2.12:80' 'web1 192.0.2.11:443' 'ftp1 192.0.2.31:21'; do
        addr=${row#* }
        see "real server $row: unknown, not in the table, no check yet" \
            "^ +${row%% *} +${addr//./\\.} +unknown +- +no check yet( |\$)"
    done
    if screen | grep -qE '[0-9]:[0-9]+ +up '; then
        fail "no real server is shown up"; show
    else
        ok "no real server is shown up"
    fi
    # The routing table: its heading lines and no service.
    if screen | grep -qE '^ *Prot LocalAddress:Port Scheduler Flags' &&
        ! screen | grep -qE '^ *(TCP|UDP|FWM) '; then
        ok "the routing table is empty (lvsd -t writes none)"
    else
        fail "the routing table is empty (lvsd -t writes none)"; show
    fi
    logout vera
    finish
    exit
fi

login "$WEB_USER" "$WEB_PASSWORD" editor
if screen | grep -qE '^ +lvsd +not running'; then
    ok "the status page says lvsd is not running"
else
    fail "the status page says lvsd is not running"; show
fi
see "the status page says pulse is not running" '^ +pulse +not running'

step_page "GLOBAL SETTINGS" "GLOBAL SETTINGS" "GLOBAL SETTINGS - lvs-web" "203.0.113.2"
step_page "REDUNDANCY" "REDUNDANCY" "REDUNDANCY - lvs-web" "203.0.113.3"
step_page "VIRTUAL SERVERS list: www, www-tls, ftp" "VIRTUAL SERVERS" \
    "VIRTUAL SERVERS - lvs-web" "www-tls" "203.0.113.12"
step_row "VIRTUAL SERVER: www" "$ROW_WWW" "" "VIRTUAL SERVER: www - lvs-web" "Scheduling"
step_page "REAL SERVER: www (the list)" "REAL SERVER: www" "REAL SERVER: www - lvs-web" \
    "192.0.2.11" "192.0.2.12"
step_page "EDIT MONITORING SCRIPTS: www" "EDIT MONITORING SCRIPTS: www" \
    "EDIT MONITORING SCRIPTS: www - lvs-web"
step_page "back to the VIRTUAL SERVERS list" "VIRTUAL SERVERS" "VIRTUAL SERVERS - lvs-web"
step_row "the fwmark virtual ftp" "$ROW_FTP" "" "VIRTUAL SERVER: ftp - lvs-web" "Firewall Mark"
if screen | grep -qE 'Firewall Mark \[[0-9]+\]21_'; then
    ok "ftp's firewall mark 21 is in its field"
else
    fail "ftp's firewall mark 21 is in its field"; show
fi

# -- one edit: web2's weight in www, 50 -> 75 -------------------------------
step_page "back to VIRTUAL SERVERS" "VIRTUAL SERVERS" "VIRTUAL SERVERS - lvs-web" "www-tls"
step_row "VIRTUAL SERVER: www" "$ROW_WWW" "" "VIRTUAL SERVER: www - lvs-web"
step_page "REAL SERVER: www" "REAL SERVER: www" "REAL SERVER: www - lvs-web"
step_row "EDIT REAL SERVER: web2 (www)" "$ROW_WEB2" "" "EDIT REAL SERVER: web2 (www) - lvs-web" "Weight"
if fill "Weight" 75 && open "ACCEPT" "Change staged"; then
    ok "weight 75 typed into the form and ACCEPTed: staged"
else
    fail "weight 75 typed into the form and ACCEPTed: staged"; show
fi
step_page "CHANGES shows the diff" "CHANGES" "Changes - lvs-web" "lvs.cf diff" "weight = 75"
if screen | grep -qE '^ *- +weight = 50' && screen | grep -qE '^ *\+ +weight = 75'; then
    ok "the diff has -weight = 50 and +weight = 75"
else
    fail "the diff has -weight = 50 and +weight = 75"; show
fi
REASON="web2 takes more load (text browser test)"
if fill "Reason (for the history)" "$REASON" && open "Apply to lvs.cf and reload" "Applied - lvs-web"; then
    ok "applied with a reason"
else
    fail "applied with a reason"; show
fi

# The file: web2's weight is the one value changed, and serial_no is one
# higher (every save bumps it, as the original tool did: the backup's sync
# refuses an older serial_no). Every other byte as before.
changed=$(diff "$T/lvs.cf.orig" "$T/etc/lvs.cf" | grep '^[<>]')
want=$(printf '%s\n' '< serial_no = 41' '<          weight = 50' '> serial_no = 42' '>          weight = 75')
if [ "$(sort <<<"$changed")" = "$(sort <<<"$want")" ] &&
    [ "$(grep -c . <<<"$changed")" = 4 ] &&
    [ "$(awk '/server web2/ { s = 1 } s && /weight/ { print; exit }' "$T/etc/lvs.cf")" = "         weight = 75" ]; then
    ok "lvs.cf on disk: web2's weight line and serial_no changed, nothing else"
else
    fail "lvs.cf on disk: web2's weight line and serial_no changed, nothing else"
    diff "$T/lvs.cf.orig" "$T/etc/lvs.cf" | sed 's/^/      | /'
fi

step_page "HISTORY lists the revision" "HISTORY" "History - lvs-web" "$WEB_USER" "web2 takes more load"
if screen | grep -F "$WEB_USER" | grep -qF "web2 takes more load"; then
    ok "the revision names $WEB_USER and the reason"
else
    fail "the revision names $WEB_USER and the reason"; show
fi
if activate_row "$ROW_REV2" "view diff" && wait_for "Revision 2 - lvs-web" "diff from revision 1" &&
    screen | grep -qE '^ *- +weight = 50' && screen | grep -qE '^ *\+ +weight = 75'; then
    ok "the new revision: what its apply changed (from revision 1)"
else
    fail "the new revision: what its apply changed (from revision 1)"; show
fi
step_page "revision 2 against the file on disk: identical" "Compare with the file on disk" \
    "Revision 2 - lvs-web" "Identical to the file on disk"
step_page "back to HISTORY" "HISTORY" "History - lvs-web"
if activate_row "$ROW_REV1" "compare with the file on disk" && wait_for "Revision 1 - lvs-web" &&
    screen | grep -qE '^ *- +weight = 75' && screen | grep -qE '^ *\+ +weight = 50'; then
    ok "revision 1 (the file as first found): its diff from the file on disk"
else
    fail "revision 1 (the file as first found): its diff from the file on disk"; show
fi


# -- list actions, a hand edit meanwhile: conflict, rebase, apply -----------
step_page "VIRTUAL SERVERS" "VIRTUAL SERVERS" "VIRTUAL SERVERS - lvs-web" "www-tls"
if activate_row "$ROW_WWW_TLS" DEACTIVATE && wait_re 'down +\[[0-9]+\]www-tls' && has "Change staged"; then
    ok "DEACTIVATE www-tls: staged, shown down"
else
    fail "DEACTIVATE www-tls: staged, shown down"; show
fi
step_row "VIRTUAL SERVER: www" "$ROW_WWW" "" "VIRTUAL SERVER: www - lvs-web"
step_page "REAL SERVER: www" "REAL SERVER: www" "REAL SERVER: www - lvs-web"
if fill "Name" web3 && fill "Address" 192.0.2.13 && activate "ADD" &&
    wait_re "$ROW_WEB3" && has "Change staged"; then
    ok "ADD real server web3 192.0.2.13 to www: staged"
else
    fail "ADD real server web3 192.0.2.13 to www: staged"; show
fi
step_page "CHANGES shows both edits" "CHANGES" "Changes - lvs-web" "server web3 {" "address = 192.0.2.13"
# Someone edits lvs.cf by hand on the router while the edits are staged.
echo "# edited by hand on the router" >>"$T/etc/lvs.cf"
cp "$T/etc/lvs.cf" "$T/lvs.cf.hand"
if fill "Reason (for the history)" "web3 joins www" &&
    open "Apply to lvs.cf and reload" "Conflict" "Rebase my edits on the current file"; then
    ok "apply after a hand edit on disk: a conflict, nothing written"
else
    fail "apply after a hand edit on disk: a conflict, nothing written"; show
fi
check "lvs.cf is still the hand-edited file" cmp -s "$T/lvs.cf.hand" "$T/etc/lvs.cf"
if activate "Rebase my edits on the current file" && wait_gone "Conflict:" &&
    wait_for "Changes - lvs-web" "lvs.cf diff" "server web3 {"; then
    ok "Rebase: the diff again, no conflict shown"
else
    fail "Rebase: the diff again, no conflict shown"; show
fi
if fill "Reason (for the history)" "web3 joins www" && open "Apply to lvs.cf and reload" "Applied - lvs-web"; then
    ok "the rebased edits applied"
else
    fail "the rebased edits applied"; show
fi
if grep -qx "# edited by hand on the router" "$T/etc/lvs.cf" && grep -q "server web3 {" "$T/etc/lvs.cf" &&
    [ "$(awk '/^virtual www-tls/ { v = 1 } v && /active/ { print $3; exit }' "$T/etc/lvs.cf")" = 0 ]; then
    ok "lvs.cf on disk: the hand edit kept, web3 added, www-tls inactive"
else
    fail "lvs.cf on disk: the hand edit kept, web3 added, www-tls inactive"
    diff "$T/lvs.cf.hand" "$T/etc/lvs.cf" | sed 's/^/      | /'
fi

# -- discard -----------------------------------------------------------------
step_page "VIRTUAL SERVERS" "VIRTUAL SERVERS" "VIRTUAL SERVERS - lvs-web" "ftp"
if activate_row "$ROW_FTP" DELETE && wait_for "Change staged" && wait_no_re "$ROW_FTP"; then
    ok "DELETE ftp: staged, gone from the list"
else
    fail "DELETE ftp: staged, gone from the list"; show
fi
if fill "Name" imap && activate "ADD" && wait_re "$ROW_IMAP" && has "Change staged"; then
    ok "ADD virtual imap: staged, in the list"
else
    fail "ADD virtual imap: staged, in the list"; show
fi
step_page "REDUNDANCY" "REDUNDANCY" "REDUNDANCY - lvs-web" "DISABLE"
if [ -n "$(link_num ENABLE)" ]; then fail "REDUNDANCY with a backup offers no ENABLE"; show; else ok "REDUNDANCY with a backup offers no ENABLE"; fi
step_page "DISABLE the backup: staged" "DISABLE" "Change staged" "]ENABLE"
if [ -n "$(link_num ENABLE)" ] && [ -z "$(link_num DISABLE)" ] && [ -z "$(link_num RESET)" ]; then
    ok "REDUNDANCY without a backup offers ENABLE alone"
else
    fail "REDUNDANCY without a backup offers ENABLE alone"; show
fi
# An editor may not set a key that names a program run as root.
step_page "VIRTUAL SERVERS" "VIRTUAL SERVERS" "VIRTUAL SERVERS - lvs-web"
step_row "VIRTUAL SERVER: www" "$ROW_WWW" "" "VIRTUAL SERVER: www - lvs-web" "Monitor program"
if fill "Monitor program" /usr/local/bin/check-www && activate "ACCEPT" &&
    wait_for "VIRTUAL SERVER: www - lvs-web" "only an admin" && ! has "Change staged"; then
    ok "the editor's Monitor program is refused at the field, nothing staged"
else
    fail "the editor's Monitor program is refused at the field, nothing staged"; show
fi
step_page "CHANGES shows ftp removed, imap added, the backup off" "CHANGES" "Changes - lvs-web" \
    "virtual ftp {" "virtual imap {" "backup_active = 0"
if has "check-www"; then fail "the refused program is not staged"; show; else ok "the refused program is not staged"; fi
step_page "Discard my edits" "Discard my edits" "Nothing staged"
if grep -q "^virtual ftp {" "$T/etc/lvs.cf" && ! grep -q imap "$T/etc/lvs.cf" &&
    grep -q "^backup_active = 1" "$T/etc/lvs.cf"; then
    ok "lvs.cf untouched by the discarded edits"
else
    fail "lvs.cf untouched by the discarded edits"
fi
if activate "VIRTUAL SERVERS" && wait_for "VIRTUAL SERVERS - lvs-web" && screen | grep -qE "$ROW_FTP"; then
    ok "the list shows ftp again"
else
    fail "the list shows ftp again"; show
fi
logout "$WEB_USER"

# -- the admin restores the first revision ----------------------------------
login piranha "$WEB_ADMIN_PASSWORD" admin
step_page "HISTORY: three revisions" "HISTORY" "History - lvs-web" "web3 joins www"
if activate_row "$ROW_REV1" "view diff" && wait_for "Revision 1 - lvs-web" "Restore revision 1"; then
    ok "revision 1's page offers the admin a restore"
else
    fail "revision 1's page offers the admin a restore"; show
fi
if fill "Reason" "back to the file as found" && open "Restore revision 1" "Revision 1 restored - lvs-web"; then
    ok "Restore revision 1"
else
    fail "Restore revision 1"; show
fi
# Revision 1's bytes, but for serial_no: a restore raises it above every
# serial_no seen, as any save does (the backup refuses an older one).
changed=$(diff "$T/lvs.cf.orig" "$T/etc/lvs.cf" | grep '^[<>]')
if [ "$(grep -c . <<<"$changed")" = 2 ] && grep -qx '< serial_no = 41' <<<"$changed" &&
    [ "$(sed -n 's/^> serial_no = \([0-9]*\)$/\1/p' <<<"$changed")" -gt 43 ] 2>/dev/null; then
    ok "lvs.cf is the first file again, serial_no raised past every save"
else
    fail "lvs.cf is the first file again, serial_no raised past every save"
    diff "$T/lvs.cf.orig" "$T/etc/lvs.cf" | sed 's/^/      | /'
fi
step_page "HISTORY names piranha's restore" "HISTORY" "History - lvs-web" "back to the file as found"
logout piranha

# -- a viewer reads but cannot edit ------------------------------------------
login vera "$WEB_VIEWER_PASSWORD" viewer
step_page "the viewer opens VIRTUAL SERVERS" "VIRTUAL SERVERS" "VIRTUAL SERVERS - lvs-web" "www-tls"
step_row "the viewer opens VIRTUAL SERVER: www" "$ROW_WWW" "" "VIRTUAL SERVER: www - lvs-web"
if [ -z "$(link_num ACCEPT)" ]; then ok "the viewer's panel has no ACCEPT button"; else fail "the viewer's panel has no ACCEPT button"; show; fi
step_page "the viewer opens REAL SERVER: www" "REAL SERVER: www" "REAL SERVER: www - lvs-web" "192.0.2.12"
if ! screen | grep -qE '\]((DELETE|ADD|DEACTIVATE)|EDIT( \[|$))'; then
    ok "the viewer's list has no EDIT, DELETE or ADD"
else
    fail "the viewer's list has no EDIT, DELETE or ADD"; show
fi
logout vera
finish
