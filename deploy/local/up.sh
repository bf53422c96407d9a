#!/usr/bin/env bash
# The docker-compose topology without Docker, as real processes on loopback:
#
#   nginx (:NGINX_PORT, Angular build + /api proxy) -> query API (:API_PORT) -> chroma (:CHROMA_PORT)
#                                                        `-> ingest worker (:WORKER_PORT)
#
# Each process is started in its own session, its PID written to a pid file, its output to a log
# in the run directory; the script waits for each health endpoint (polling, with a timeout) and
# fails loudly with the log tail, stopping what it had started, if one does not come up.
# Stop everything with deploy/local/down.sh (same LOCAL_RUN_DIR).
#
# Settings (environment; defaults in brackets):
#   LOCAL_RUN_DIR   run directory: logs/, pids/, nginx/, stack.env   [.run/local]
#   LOCAL_DATA_DIR  chroma data (chroma/) and worker state (state/)    [$LOCAL_RUN_DIR/data]
#   NGINX_PORT [8080]  API_PORT [8000]  WORKER_PORT [8001]  CHROMA_PORT [8100]
#   FRONTEND_DIST   the Angular build nginx serves                     [frontend-angular/dist/chat/browser]
#   VENV            virtualenv with chroma and confluence-rag          [.venv]
#   NGINX           nginx binary                                       [nginx from PATH, else /usr/sbin/nginx]
#   NGINX_USER      worker user when run as root                       [www-data]
#   UP_TIMEOUT      seconds to wait for each service                   [180]
#   NGINX_AUTH_PROXY the authenticating proxy's addresses/CIDRs: only from there do sign-in
#                   headers (X-Forwarded-User...) reach the API; "none" clears them always [none]
# Relative paths are relative to the current directory. Everything else in the environment
# (CONFLUENCE_*, LLM_*, ADMIN_TOKEN, EMBEDDING_MODEL, ...) passes through to the services, which
# also read .env from the repository root; the topology variables (hosts, ports, CHROMA_HOST,
# WORKER_URL, STATE_DIR) are set here and win over .env.
set -euo pipefail

ROOT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

abspath() { # absolute path of $1 (need not exist), relative to the current directory
    case $1 in /*) printf '%s\n' "$1" ;; *) printf '%s/%s\n' "$PWD" "$1" ;; esac
}

RUN_DIR=$(abspath "${LOCAL_RUN_DIR:-$ROOT_DIR/.run/local}")
DATA_DIR=$(abspath "${LOCAL_DATA_DIR:-$RUN_DIR/data}")
FRONTEND_DIST=$(abspath "${FRONTEND_DIST:-$ROOT_DIR/frontend-angular/dist/chat/browser}")
VENV=$(abspath "${VENV:-$ROOT_DIR/.venv}")
NGINX_PORT=${NGINX_PORT:-8080}
API_PORT=${API_PORT:-8000}
WORKER_PORT=${WORKER_PORT:-8001}
CHROMA_PORT=${CHROMA_PORT:-8100}
UP_TIMEOUT=${UP_TIMEOUT:-180}
HOST=127.0.0.1
NGINX_BIN=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}

LOG_DIR=$RUN_DIR/logs
PID_DIR=$RUN_DIR/pids
NGX_DIR=$RUN_DIR/nginx
NGX_CONF=$NGX_DIR/nginx.conf
NGX_ERR=$LOG_DIR/nginx/error.log

say() { printf 'up-local: %s\n' "$*"; }
die() { printf 'up-local: ERROR: %s\n' "$*" >&2; exit 1; }

# --- preconditions ------------------------------------------------------------------------------
for port_var in NGINX_PORT API_PORT WORKER_PORT CHROMA_PORT; do
    [[ ${!port_var} =~ ^[0-9]+$ ]] || die "$port_var must be a port number, got '${!port_var}'"
done
[[ -x $VENV/bin/chroma ]] || die "$VENV/bin/chroma not found: run 'make venv' first"
[[ -x $VENV/bin/confluence-rag ]] || die "$VENV/bin/confluence-rag not found: run 'make venv' first"
[[ -x $NGINX_BIN ]] || die "nginx not found: apt-get install -y nginx"

mkdir -p "$LOG_DIR/nginx" "$PID_DIR" "$NGX_DIR" "$DATA_DIR/chroma" "$DATA_DIR/state"

alive() { [[ -n ${1:-} ]] && kill -0 "$1" 2>/dev/null; }

for f in "$PID_DIR"/*.pid "$NGX_DIR/nginx.pid"; do
    [[ -f $f ]] || continue
    pid=$(<"$f")
    if alive "$pid"; then
        die "already running: $(basename "$f" .pid) has PID $pid ($f). Stop it first: LOCAL_RUN_DIR=$RUN_DIR $ROOT_DIR/deploy/local/down.sh"
    fi
    rm -f "$f" # stale
done

port_in_use() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }
for port_var in CHROMA_PORT WORKER_PORT API_PORT NGINX_PORT; do
    if port_in_use "${!port_var}"; then
        die "$HOST:${!port_var} ($port_var) is already in use; choose another with $port_var=..."
    fi
done

# --- helpers ------------------------------------------------------------------------------------
on_failure() {
    local name=$1 log=$2 why=$3
    {
        printf '\nup-local: ERROR: %s: %s\n' "$name" "$why"
        printf 'up-local: last lines of %s:\n' "$log"
        tail -n 60 "$log" 2>/dev/null | sed 's/^/    /'
        printf 'up-local: stopping what was started\n'
    } >&2
    LOCAL_RUN_DIR=$RUN_DIR "$ROOT_DIR/deploy/local/down.sh" >&2 || true
    exit 1
}

http_get() { # URL [TIMEOUT]: print the body, fail unless 2xx
    if command -v curl >/dev/null 2>&1; then
        curl -fsS --max-time "${2:-3}" "$1" 2>/dev/null
    else
        python3 -c 'import sys, urllib.request
sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=float(sys.argv[2])).read().decode())' \
            "$1" "${2:-3}" 2>/dev/null
    fi
}
http_ok() { http_get "$1" >/dev/null; }

start() { # NAME COMMAND...: run detached in a new session; the process writes its own PID
    local name=$1; shift
    local log=$LOG_DIR/$name.log pidfile=$PID_DIR/$name.pid
    printf '\n===== %s up-local: starting %s: %s\n' "$(date -Is)" "$name" "$*" >>"$log"
    # shellcheck disable=SC2016  # $$ and $@ are expanded by the inner bash
    setsid bash -c 'echo $$ >"$0.tmp" && mv -f "$0.tmp" "$0" && exec "$@"' "$pidfile" "$@" \
        </dev/null >>"$log" 2>&1 &
    local deadline=$((SECONDS + 10))
    until [[ -s $pidfile ]]; do
        ((SECONDS < deadline)) || on_failure "$name" "$log" "no PID file after 10 s"
        sleep 0.05
    done
    say "$name started (PID $(<"$pidfile")), log $log"
}

wait_healthy() { # NAME URL [PIDFILE]: poll URL until 2xx, while the process is alive
    local name=$1 url=$2 pidfile=${3:-$PID_DIR/$1.pid} log=${4:-$LOG_DIR/$1.log}
    local deadline=$((SECONDS + UP_TIMEOUT)) pid
    pid=$(cat "$pidfile" 2>/dev/null || true)
    until http_ok "$url"; do
        alive "$pid" || on_failure "$name" "$log" "process $pid exited before $url answered"
        ((SECONDS < deadline)) || on_failure "$name" "$log" "no healthy answer from $url within ${UP_TIMEOUT}s"
        sleep 0.25
    done
    alive "$pid" || on_failure "$name" "$log" "$url answered but process $pid is gone (port taken by another process?)"
    say "$name healthy: $url"
}

# --- environment for the services ---------------------------------------------------------------
cd "$ROOT_DIR" # the services read .env from the working directory, like 'make run'
export HF_HUB_OFFLINE=${HF_HUB_OFFLINE:-1} TRANSFORMERS_OFFLINE=${TRANSFORMERS_OFFLINE:-1}
export LITELLM_LOCAL_MODEL_COST_MAP=${LITELLM_LOCAL_MODEL_COST_MAP:-True}
export ORT_DISABLE_TELEMETRY=${ORT_DISABLE_TELEMETRY:-1} ANONYMIZED_TELEMETRY=${ANONYMIZED_TELEMETRY:-False}
export PYTHONUNBUFFERED=1
export CHROMA_HOST=$HOST CHROMA_PORT
export WORKER_HOST=$HOST WORKER_PORT WORKER_URL=http://$HOST:$WORKER_PORT
export API_HOST=$HOST API_PORT
export STATE_DIR=$DATA_DIR/state

# --- chroma -------------------------------------------------------------------------------------
start chroma "$VENV/bin/chroma" run --path "$DATA_DIR/chroma" --host "$HOST" --port "$CHROMA_PORT"
wait_healthy chroma "http://$HOST:$CHROMA_PORT/api/v2/heartbeat"

# --- worker and query API (both load the embedding model: start them together) ------------------
start worker "$VENV/bin/confluence-rag" worker
start api "$VENV/bin/confluence-rag" api
wait_healthy worker "http://$HOST:$WORKER_PORT/health"
wait_healthy api "http://$HOST:$API_PORT/api/health"

# --- nginx --------------------------------------------------------------------------------------
if [[ $(id -u) == 0 ]]; then
    NGINX_USER=${NGINX_USER:-www-data}
    id "$NGINX_USER" >/dev/null 2>&1 || NGINX_USER=nobody
else
    NGINX_USER=$(id -un) # the directive is ignored (with a warning) when not root
fi
if [[ ! -f $FRONTEND_DIST/index.html ]]; then
    say "WARNING: no Angular build at $FRONTEND_DIST (index.html missing): the chat page will 404"
    say "         build it (cd frontend-angular && npx ng build) or set FRONTEND_DIST; /api/ works anyway"
elif [[ $(id -u) == 0 ]] && ! runuser -u "$NGINX_USER" -- test -r "$FRONTEND_DIST/index.html"; then
    die "nginx workers run as $NGINX_USER, who cannot read $FRONTEND_DIST/index.html (check the directory permissions)"
fi
if [[ $(id -u) == 0 ]] && ! runuser -u "$NGINX_USER" -- test -x "$NGX_DIR"; then
    die "nginx workers run as $NGINX_USER, who cannot reach $NGX_DIR (temp files); use a LOCAL_RUN_DIR outside private directories"
fi

# The page's connect-src, as the API computes it (web/headers.py browser_connect_src): the identity
# provider's origin too with AUTH_MODE=oidc, since the browser calls it.
if [[ -z ${CSP_CONNECT_SRC:-} ]]; then
    CSP_CONNECT_SRC="'self'"
    if [[ ${AUTH_MODE:-none} == oidc && -n ${OIDC_ISSUER:-} ]]; then
        CSP_CONNECT_SRC="'self' $(sed -E 's#^([A-Za-z][A-Za-z0-9+.-]*://[^/]+).*#\1#' <<<"$OIDC_ISSUER")"
    fi
fi
NGINX_USER=$NGINX_USER NGINX_LISTEN=$HOST:$NGINX_PORT NGINX_ROOT=$FRONTEND_DIST \
    API_UPSTREAM=$HOST:$API_PORT NGINX_PREFIX=$NGX_DIR NGINX_LOG_DIR=$LOG_DIR/nginx CSP_CONNECT_SRC=$CSP_CONNECT_SRC \
    "$ROOT_DIR/deploy/local/render-nginx.sh" "$NGX_CONF"
NGX=("$NGINX_BIN" -p "$NGX_DIR/" -c "$NGX_CONF" -e "$NGX_ERR")
if ! "${NGX[@]}" -t -q >>"$LOG_DIR/nginx.log" 2>&1; then
    on_failure nginx "$LOG_DIR/nginx.log" "configuration test failed ($NGX_CONF)"
fi
printf '\n===== %s up-local: starting nginx: %s\n' "$(date -Is)" "${NGX[*]}" >>"$LOG_DIR/nginx.log"
"${NGX[@]}" </dev/null >>"$LOG_DIR/nginx.log" 2>&1 || on_failure nginx "$LOG_DIR/nginx.log" "nginx did not start"
deadline=$((SECONDS + 10))
until [[ -s $NGX_DIR/nginx.pid ]]; do
    ((SECONDS < deadline)) || on_failure nginx "$NGX_ERR" "no pid file $NGX_DIR/nginx.pid"
    sleep 0.05
done
say "nginx started (PID $(<"$NGX_DIR/nginx.pid")), logs $LOG_DIR/nginx/"
wait_healthy nginx "http://$HOST:$NGINX_PORT/healthz" "$NGX_DIR/nginx.pid" "$NGX_ERR"
wait_healthy "nginx -> api" "http://$HOST:$NGINX_PORT/api/health" "$NGX_DIR/nginx.pid" "$NGX_ERR"

# --- summary ------------------------------------------------------------------------------------
# stack.env: how to reach this stack (sourced by 'make ingest/sync' and by tests).
cat >"$RUN_DIR/stack.env" <<EOF
# Written by deploy/local/up.sh on $(date -Is); removed by down.sh.
CHROMA_HOST=$HOST
CHROMA_PORT=$CHROMA_PORT
STATE_DIR=$STATE_DIR
WORKER_URL=$WORKER_URL
API_URL=http://$HOST:$API_PORT
FRONTEND_URL=http://$HOST:$NGINX_PORT/
EOF

ready=$(http_get "http://$HOST:$NGINX_PORT/api/ready" 10 || echo "<not ready: see GET /api/ready>")
if [[ $RUN_DIR == "$ROOT_DIR/.run/local" ]]; then
    stop_hint="make down-local   (or: deploy/local/down.sh)"
else
    stop_hint="LOCAL_RUN_DIR=$RUN_DIR $ROOT_DIR/deploy/local/down.sh"
fi
cat <<EOF

Local stack is up ($RUN_DIR):
  chat page    http://$HOST:$NGINX_PORT/
  query API    http://$HOST:$NGINX_PORT/api/  (direct: http://$HOST:$API_PORT/api/docs)
  worker       http://$HOST:$WORKER_PORT/health
  chroma       http://$HOST:$CHROMA_PORT  (data $DATA_DIR/chroma)
  ready        $ready
  logs         $LOG_DIR/
  stop         $stop_hint
EOF
