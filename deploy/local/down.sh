#!/usr/bin/env bash
# Stop the local stack started by deploy/local/up.sh, by PID, in reverse order:
# nginx (graceful "-s quit" with the same -p/-c/-e), then the query API, the worker and chroma
# (SIGTERM to the process and its session, SIGKILL after STOP_TIMEOUT seconds).
# Only the PIDs recorded in LOCAL_RUN_DIR are touched, and only when /proc/PID/cmdline still
# shows the expected program (a stale pid file never kills an unrelated process).
# Safe to run twice. Exit status 1 if something could not be stopped.
#
#   LOCAL_RUN_DIR  [.run/local]   STOP_TIMEOUT [20]   NGINX [nginx from PATH]
set -uo pipefail

ROOT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
case ${LOCAL_RUN_DIR:-} in
    "") RUN_DIR=$ROOT_DIR/.run/local ;;
    /*) RUN_DIR=$LOCAL_RUN_DIR ;;
    *) RUN_DIR=$PWD/$LOCAL_RUN_DIR ;;
esac
STOP_TIMEOUT=${STOP_TIMEOUT:-20}
NGINX_BIN=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
PID_DIR=$RUN_DIR/pids
NGX_DIR=$RUN_DIR/nginx
status=0

say() { printf 'down-local: %s\n' "$*"; }
alive() { [[ -n ${1:-} ]] && kill -0 "$1" 2>/dev/null; }

wait_gone() { # PID SECONDS
    local deadline=$((SECONDS + $2))
    while alive "$1"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.1
    done
}

cmdline_has() { # PID WORD: the process's command line mentions WORD
    [[ -r /proc/$1/cmdline ]] && tr '\0' ' ' <"/proc/$1/cmdline" | grep -qF -- "$2"
}

signal() { # SIG PID: PID's process group when PID leads it (up.sh starts each in its own session), else PID
    if [[ $(ps -o pgid= -p "$2" 2>/dev/null | tr -d ' ') == "$2" ]]; then
        kill "-$1" -- "-$2" 2>/dev/null || kill "-$1" "$2" 2>/dev/null
    else
        kill "-$1" "$2" 2>/dev/null
    fi
}

stop_nginx() {
    local pidfile=$NGX_DIR/nginx.pid conf=$NGX_DIR/nginx.conf pid
    [[ -f $pidfile ]] || return 0
    pid=$(<"$pidfile")
    if ! alive "$pid"; then
        rm -f "$pidfile"
        return 0
    fi
    if ! cmdline_has "$pid" nginx; then
        say "nginx: PID $pid is not nginx any more; leaving it alone"
        rm -f "$pidfile"
        return 0
    fi
    say "nginx: quit (PID $pid)"
    "$NGINX_BIN" -p "$NGX_DIR/" -c "$conf" -e "$RUN_DIR/logs/nginx/error.log" -s quit 2>/dev/null ||
        kill -QUIT "$pid" 2>/dev/null
    if ! wait_gone "$pid" "$STOP_TIMEOUT"; then
        say "nginx: still running after ${STOP_TIMEOUT}s, SIGTERM"
        kill -TERM "$pid" 2>/dev/null
        wait_gone "$pid" 5 || { kill -KILL "$pid" 2>/dev/null; wait_gone "$pid" 5; }
    fi
    if alive "$pid"; then
        say "nginx: could not stop PID $pid"
        status=1
    else
        rm -f "$pidfile"
    fi
}

stop_one() { # NAME WORD
    local name=$1 word=$2 pidfile=$PID_DIR/$1.pid pid
    [[ -f $pidfile ]] || return 0
    pid=$(<"$pidfile")
    if ! alive "$pid"; then
        say "$name: not running (stale PID $pid)"
        rm -f "$pidfile"
        return 0
    fi
    if ! cmdline_has "$pid" "$word"; then
        say "$name: PID $pid is not $word any more; leaving it alone"
        rm -f "$pidfile"
        return 0
    fi
    say "$name: SIGTERM (PID $pid)"
    signal TERM "$pid"
    if ! wait_gone "$pid" "$STOP_TIMEOUT"; then
        say "$name: still running after ${STOP_TIMEOUT}s, SIGKILL"
        signal KILL "$pid"
        wait_gone "$pid" 5
    fi
    if alive "$pid"; then
        say "$name: could not stop PID $pid"
        status=1
    else
        rm -f "$pidfile"
    fi
}

if [[ ! -d $RUN_DIR ]]; then
    say "nothing to stop ($RUN_DIR does not exist)"
    exit 0
fi
stop_nginx
stop_one api confluence-rag
stop_one worker confluence-rag
stop_one chroma chroma
rm -f "$RUN_DIR/stack.env"
((status == 0)) && say "stopped (logs kept in $RUN_DIR/logs)"
exit "$status"
