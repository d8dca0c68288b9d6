#!/usr/bin/env bash
# tests/web/text-browser.sh - the configuration tool in lynx, keystroke by
# keystroke through tmux (tests/web/run.sh sets the tool up and calls this).
#
# Environment (from run.sh): URL (lvs-web), T (the temporary directory:
# etc/lvs.cf is the file lvs-admin edits, lvs.cf.orig its first version,
# web.log lvs-web's audit lines), WEB_USER / WEB_PASSWORD (an editor),
# TMUX_SOCKET (the name of this run's own tmux server).
#
# lynx runs with numbered links and fields (-number_fields) in a window tall
# enough to show every page whole, so the number in front of a label is
# the count of Down presses from the page's first link. Every wait polls the
# screen every 0.1 s for at most WAIT seconds. A page or action that lynx
# cannot complete fails its step; the steps after it still run where they
# can. Prints one "ok" or "FAIL" line per step and
# "web (text browser): N passed, M failed"; exit status 1 on any failure.
set -uo pipefail
: "${URL:?}" "${T:?}" "${WEB_USER:?}" "${WEB_PASSWORD:?}" "${TMUX_SOCKET:?}"

WAIT=${WAIT:-5}
PASSES=0 FAILS=0
ok() { echo "ok    $*"; PASSES=$((PASSES + 1)); }
fail() { echo "FAIL  $*"; FAILS=$((FAILS + 1)); }
# check DESCRIPTION COMMAND...: ok or FAIL after the command's status.
check() { local d=$1; shift; if "$@"; then ok "$d"; else fail "$d"; fi; }

tm() { tmux -L "$TMUX_SOCKET" "$@"; }
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
# The number of the form field just after LABEL ("Weight [14]100___").
field_num() {
    screen | awk -v s="$1 [" '{
        if ((i = index($0, s)) > 0) {
            rest = substr($0, i + length(s))
            if (match(rest, /^[0-9]+\]/)) { print substr(rest, 1, RLENGTH - 1); exit }
        }
    }'
}

# Which link lynx's cursor is on: 1 when a page has just loaded.
CUR=1
goto() {
    local n=$1
    if [ "$n" -gt "$CUR" ]; then
        tm send-keys -N $((n - CUR)) Down
    elif [ "$n" -lt "$CUR" ]; then
        tm send-keys -N $((CUR - n)) Up
    fi
    CUR=$n
    sleep 0.1
}
# activate LABEL [NTH]: follow the link or press the button LABEL (the
# NTH of that name); the next page starts at its first link.
activate() {
    local n
    n=$(link_num "$1" "${2:-1}")
    [ -n "$n" ] || { echo "      no link or button \"$1\" on the page"; return 1; }
    goto "$n"
    tm send-keys Enter
    CUR=1
}
# fill LABEL VALUE: replace the text of the field after LABEL.
fill() {
    local n
    n=$(field_num "$1")
    [ -n "$n" ] || { echo "      no field \"$1\" on the page"; return 1; }
    goto "$n"
    tm send-keys C-u
    tm send-keys -l -- "$2"
}
# open LABEL TEXT...: follow LABEL and wait for the page showing every TEXT.
open() {
    local label=$1
    shift
    activate "$label" && wait_for "$@"
}
step_page() {
    local desc=$1
    shift
    if open "$@"; then ok "$desc"; else fail "$desc"; show; fi
}

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
CUR=1

echo "== text browser: lynx $(lynx -version | sed -n '1s/^Lynx Version \([^ ]*\).*/\1/p') on $URL as $WEB_USER"

if wait_for "Log in" "User name" "Password"; then
    ok "GET / shows the login page"
else
    fail "GET / shows the login page"; show
fi
fill "User name" "$WEB_USER" && fill "Password" "$WEB_PASSWORD"
step_page "log in as $WEB_USER: CONTROL/MONITORING" "BUTTON) Login" \
    "Logged in as $WEB_USER (editor)" "CONTROL/MONITORING - lvs-web"
if screen | grep -qE '^ +lvsd +not running'; then
    ok "the status page says lvsd is not running"
else
    fail "the status page says lvsd is not running"; show
fi

step_page "GLOBAL SETTINGS" "GLOBAL SETTINGS" "GLOBAL SETTINGS - lvs-web" "203.0.113.2"
step_page "REDUNDANCY" "REDUNDANCY" "REDUNDANCY - lvs-web" "203.0.113.3"
step_page "VIRTUAL SERVERS list: www, www-tls, ftp" "VIRTUAL SERVERS" \
    "VIRTUAL SERVERS - lvs-web" "www-tls 203.0.113.10" "ftp 203.0.113.12"
step_page "VIRTUAL SERVER: www" "www 203.0.113.10" "VIRTUAL SERVER: www - lvs-web" "Scheduling"
step_page "REAL SERVER: www (the list)" "REAL SERVER: www" "REAL SERVER: www - lvs-web" \
    "web1 192.0.2.11" "web2 192.0.2.12"
step_page "EDIT MONITORING SCRIPTS: www" "EDIT MONITORING SCRIPTS: www" \
    "EDIT MONITORING SCRIPTS: www - lvs-web"
step_page "back to the VIRTUAL SERVERS list" "VIRTUAL SERVERS" "VIRTUAL SERVERS - lvs-web"
step_page "the fwmark virtual ftp" "ftp 203.0.113.12" "VIRTUAL SERVER: ftp - lvs-web" "Firewall Mark"
if screen | grep -qE 'Firewall Mark \[[0-9]+\]21_'; then
    ok "ftp's firewall mark 21 is in its field"
else
    fail "ftp's firewall mark 21 is in its field"; show
fi

# -- one edit: web2's weight in www, 50 -> 75 -------------------------------
step_page "back to VIRTUAL SERVERS" "VIRTUAL SERVERS" "VIRTUAL SERVERS - lvs-web" "www-tls"
step_page "VIRTUAL SERVER: www" "www 203.0.113.10" "VIRTUAL SERVER: www - lvs-web"
step_page "REAL SERVER: www" "REAL SERVER: www" "REAL SERVER: www - lvs-web"
step_page "EDIT REAL SERVER: web2 (www)" "web2 192.0.2.12" "EDIT REAL SERVER: web2 (www) - lvs-web" "Weight"
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
step_page "the new revision: identical to the file on disk" "view diff" \
    "Revision 2 - lvs-web" "Identical to the file on disk"
step_page "back to HISTORY" "HISTORY" "History - lvs-web"
if activate "view diff" 2 && wait_for "Revision 1 - lvs-web" &&
    screen | grep -qE '^ *- +weight = 75' && screen | grep -qE '^ *\+ +weight = 50'; then
    ok "revision 1 (the file as first found): its diff from the file on disk"
else
    fail "revision 1 (the file as first found): its diff from the file on disk"; show
fi

step_page "log out" "BUTTON) Log out" "Log in" "User name"
if grep -q "logout user=$WEB_USER" "$T/web.log"; then
    ok "the audit log has the logout"
else
    fail "the audit log has the logout"
fi
tm send-keys Q
sleep 0.2
tm kill-server 2>/dev/null

echo "web (text browser): $PASSES passed, $FAILS failed"
[ "$FAILS" = 0 ]
