# bash completion for pulse, lvsd, nanny, send_arp, and the configuration
# tool's lvs-admin, lvs-web and piranha-passwd (lvs-director).
# Installed once per command under /usr/share/bash-completion/completions/;
# works without the bash-completion package's helpers too (source it).
#
# `lvsd --control down|up|normal|drain <TAB>` offers the VIRTUAL/SERVER names of
# the lvs.cf on the command line (-c FILE), else /etc/sysconfig/ha/lvs.cf:
# the file the running lvsd was started with.

# VIRTUAL/SERVER for every server block of every virtual block of FILE.
_lvs_director_servers() {
    local file=$1
    [ -r "$file" ] || return 0
    awk '
        { sub(/\r$/, "") }
        /^[ \t]*#/ { next }
        { sub(/[ \t]+#.*$/, "") }
        $1 == "virtual" || $1 == "failover" || $1 == "server" {
            name = $2
            sub(/\{.*$/, "", name)
            gsub(/["\047]/, "", name)
        }
        $1 == "virtual" && depth == 0 { virt = name; depth = 1; next }
        $1 == "failover" && depth == 0 { virt = ""; depth = 1; next }
        $1 == "server" && depth == 1 {
            if (virt != "") print virt "/" name
            depth = 2
            next
        }
        $1 ~ /^\{?\}$/ && depth > 0 { depth-- }
    ' "$file" 2>/dev/null
}

# The block addresses of FILE as lvsd --set/--remove/--rename take them:
# virtual.V, virtual.V.server.S, failover.F.
_lvs_director_blocks() {
    local file=$1
    [ -r "$file" ] || return 0
    awk '
        { sub(/\r$/, "") }
        /^[ \t]*#/ { next }
        { sub(/[ \t]+#.*$/, "") }
        $1 == "virtual" || $1 == "failover" || $1 == "server" {
            name = $2
            sub(/\{.*$/, "", name)
            gsub(/["\047]/, "", name)
        }
        ($1 == "virtual" || $1 == "failover") && depth == 0 {
            top = $1 "." name; print top; depth = 1; next
        }
        $1 == "server" && depth == 1 { print top ".server." name; depth = 2; next }
        $1 ~ /^\{?\}$/ && depth > 0 { depth-- }
    ' "$file" 2>/dev/null
}

# The lvs.cf named by -c/--configfile among the words, else the default.
_lvs_director_config() {
    local i word
    for ((i = 1; i < COMP_CWORD; i++)); do
        word=${COMP_WORDS[i]}
        case "$word" in
            -c | --configfile)
                # bash splits "--configfile=FILE" at "=" into three words.
                if [ "${COMP_WORDS[i + 1]}" = "=" ]; then
                    echo "${COMP_WORDS[i + 2]}"
                else
                    echo "${COMP_WORDS[i + 1]}"
                fi
                return
                ;;
            --configfile=*)
                echo "${word#--configfile=}"
                return
                ;;
            -c?*)
                echo "${word#-c}"
                return
                ;;
        esac
    done
    echo /etc/sysconfig/ha/lvs.cf
}

_lvs_director_files() {
    compopt -o filenames 2>/dev/null
    mapfile -t COMPREPLY < <(compgen -f -- "$1")
}

_lvs_director_words() {
    mapfile -t COMPREPLY < <(compgen -W "$1" -- "$2")
}

_lvsd() {
    local cur=${COMP_WORDS[COMP_CWORD]}
    local prev=${COMP_WORDS[COMP_CWORD - 1]}
    local prev2=
    [ "$COMP_CWORD" -ge 2 ] && prev2=${COMP_WORDS[COMP_CWORD - 2]}
    COMPREPLY=()
    if [ "$prev2" = --control ]; then
        _lvs_director_words "$(_lvs_director_servers "$(_lvs_director_config)")" "$cur"
        return
    fi
    case "$prev" in
        -c | --configfile | --socket | --pidfile)
            _lvs_director_files "$cur"
            return
            ;;
        --control)
            _lvs_director_words "down up normal drain" "$cur"
            return
            ;;
        --remove | --rename | --set | --unset)
            compopt -o nospace 2>/dev/null
            _lvs_director_words "$(_lvs_director_blocks "$(_lvs_director_config)")" "$cur"
            return
            ;;
        --add)
            _lvs_director_words "virtual. failover." "$cur"
            compopt -o nospace 2>/dev/null
            return
            ;;
    esac
    _lvs_director_words "-c --configfile -v --verbose -n --nodaemon -t --test-start
        --nofork --check --dry-run --diff --status --control --json --set --unset
        --add --remove --rename --print --preview --socket --pidfile -h --help
        -V --version" "$cur"
}

_pulse() {
    local cur=${COMP_WORDS[COMP_CWORD]}
    local prev=${COMP_WORDS[COMP_CWORD - 1]}
    COMPREPLY=()
    # "--configfile=FILE": bash splits at "=" (COMP_WORDBREAKS) into
    # "--configfile" "=" "FILE", or hands "--configfile=FILE" whole.
    if [ "$prev" = "=" ] && [ "$COMP_CWORD" -ge 2 ]; then
        prev=${COMP_WORDS[COMP_CWORD - 2]}
    elif [ "$cur" = "=" ]; then
        cur=
    fi
    case "$cur" in
        --configfile=* | --lvsd=* | --lvs=* | --fos=* | --pidfile=* | --socket=* | --lvsd-pidfile=*)
            _lvs_director_files "${cur#*=}"
            return
            ;;
    esac
    case "$prev" in
        -c | --configfile | --lvsd | --lvs | --fos | --pidfile | --socket | --lvsd-pidfile)
            _lvs_director_files "$cur"
            return
            ;;
    esac
    _lvs_director_words "-c --configfile -n --nodaemon -t --test-start --norun
        -v --verbose --forceactive --lvsd --lvs --fos --version --status --json
        --pidfile --socket --lvsd-pidfile --help --usage" "$cur"
}

_nanny() {
    local cur=${COMP_WORDS[COMP_CWORD]}
    local prev=${COMP_WORDS[COMP_CWORD - 1]}
    COMPREPLY=()
    case "$prev" in
        -M | --method)
            _lvs_director_words "m g i" "$cur"
            return
            ;;
        -U | --loadcmd)
            _lvs_director_words "none uptime rup ruptime ssh rsh" "$cur"
            return
            ;;
        -I | --ipvsadm | -e | --send_program)
            _lvs_director_files "$cur"
            return
            ;;
        -t | --interval | -p | --port | -r | --rport | -a | --reentrytime | \
            -S | --scale | -h | --server | -s | --send_string | \
            -x | --expect_string | -V | --virtaddress | -f | --fwmark | \
            -w | --weight)
            return
            ;;
    esac
    _lvs_director_words "-t --interval -I --ipvsadm -U --loadcmd -M --method
        -n --nodaemon -c --nofork -p --port -r --rport -a --reentrytime -S --scale
        -h --server -e --send_program -s --send_string -x --expect_string --regex
        -T --suppress -q --quiesce_server -u --udp -v --verbose -V --virtaddress
        -f --fwmark -w --weight --test-start --norun --version --fos --lvs
        --shared --help --usage" "$cur"
}

_send_arp() {
    local cur=${COMP_WORDS[COMP_CWORD]}
    local prev=${COMP_WORDS[COMP_CWORD - 1]}
    COMPREPLY=()
    if [ "$prev" = -i ]; then
        local devs
        devs=$(ls /sys/class/net 2>/dev/null)
        _lvs_director_words "$devs" "$cur"
        return
    fi
    if [ "$COMP_CWORD" -eq 1 ]; then
        _lvs_director_words "-i" "$cur"
    fi
}

_lvs_admin() {
    local cur=${COMP_WORDS[COMP_CWORD]}
    local prev=${COMP_WORDS[COMP_CWORD - 1]}
    local verbs="serve read check diff apply history show restore control status sync-push
        sync-status fingerprint help"
    local i verb=
    COMPREPLY=()
    for ((i = 1; i < COMP_CWORD; i++)); do
        case "${COMP_WORDS[i]}" in
            --socket) i=$((i + 1)) ;;
            -*) ;;
            *)
                verb=${COMP_WORDS[i]}
                break
                ;;
        esac
    done
    case "$prev" in
        --socket | -c | --configfile | --state-dir | --lvsd-socket | --lvsd-pidfile | \
            --pulse-socket | --pulse-pidfile | --passwd-file | --users-file)
            _lvs_director_files "$cur"
            return
            ;;
        --group)
            _lvs_director_words "$(cut -d: -f1 /etc/group 2>/dev/null)" "$cur"
            return
            ;;
        --pam-group)
            _lvs_director_words "viewer= operator= editor= admin=" "$cur"
            compopt -o nospace 2>/dev/null
            return
            ;;
        --reason | --base | --user | --keep | --reload-wait | --peer | --peer-fingerprint | \
            --sync-listen | --sync-name | --pam-service)
            return
            ;;
    esac
    case "$verb" in
        "")
            if [[ "$cur" == -* ]]; then
                _lvs_director_words "--socket -h --help -V --version" "$cur"
            else
                _lvs_director_words "$verbs" "$cur"
            fi
            ;;
        serve)
            _lvs_director_words "-c --configfile --group --state-dir --keep --lvsd-socket
                --lvsd-pidfile --pulse-socket --pulse-pidfile --reload-wait --peer
                --peer-fingerprint --sync-listen --sync-piranha-compat --sync-name --passwd-file
                --users-file --pam-service --pam-group --socket -h --help" "$cur"
            ;;
        check | diff)
            _lvs_director_files "$cur"
            ;;
        apply)
            if [[ "$cur" == -* ]]; then
                _lvs_director_words "--reason --base --user --socket -h --help" "$cur"
            else
                _lvs_director_files "$cur"
            fi
            ;;
        restore)
            _lvs_director_words "--reason --user --socket -h --help" "$cur"
            ;;
        control)
            if [ "$prev" = control ]; then
                _lvs_director_words "down up normal drain" "$cur"
            elif [[ "$cur" == -* ]]; then
                _lvs_director_words "--user --socket -h --help" "$cur"
            else
                _lvs_director_words "$(_lvs_director_servers /etc/sysconfig/ha/lvs.cf)" "$cur"
            fi
            ;;
        status | sync-status)
            _lvs_director_words "--json --socket -h --help" "$cur"
            ;;
        sync-push)
            _lvs_director_words "--force --user --socket -h --help" "$cur"
            ;;
        fingerprint)
            _lvs_director_words "--state-dir --socket -h --help" "$cur"
            ;;
        help)
            _lvs_director_words "$verbs" "$cur"
            ;;
        *)
            _lvs_director_words "--socket -h --help" "$cur"
            ;;
    esac
}

_lvs_web() {
    local cur=${COMP_WORDS[COMP_CWORD]}
    local prev=${COMP_WORDS[COMP_CWORD - 1]}
    COMPREPLY=()
    case "$prev" in
        --tls-cert | --tls-key | --admin-socket | --tokens)
            _lvs_director_files "$cur"
            return
            ;;
        --listen | --origin | --refresh | --idle-timeout)
            return
            ;;
    esac
    _lvs_director_words "--listen --tls --tls-cert --tls-key --admin-socket --tokens
        --origin --refresh --idle-timeout --audit-stdout -h --help -V --version" "$cur"
}

_piranha_passwd() {
    local cur=${COMP_WORDS[COMP_CWORD]}
    local prev=${COMP_WORDS[COMP_CWORD - 1]}
    local prev2=
    [ "$COMP_CWORD" -ge 2 ] && prev2=${COMP_WORDS[COMP_CWORD - 2]}
    COMPREPLY=()
    if [ "$prev2" = --token ]; then
        _lvs_director_words "viewer operator editor admin" "$cur"
        return
    fi
    case "$prev" in
        --user | --token)
            return
            ;;
    esac
    # Anything else is the password: offer only the options.
    [[ "$cur" == -* ]] && _lvs_director_words "--user --token --help -h --version" "$cur"
}

complete -F _lvsd lvsd
complete -F _pulse pulse
complete -F _nanny nanny
complete -F _send_arp send_arp
complete -F _lvs_admin lvs-admin
complete -F _lvs_web lvs-web
complete -F _piranha_passwd piranha-passwd
