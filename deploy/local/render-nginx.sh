#!/usr/bin/env bash
# Render deploy/nginx/nginx.conf.template to OUTPUT, the way the official nginx image does it:
# envsubst with an explicit list of variables, so nginx's own $variables are left alone.
#
#   NGINX_USER=www-data NGINX_LISTEN=127.0.0.1:8080 NGINX_ROOT=/srv/chat \
#   API_UPSTREAM=127.0.0.1:8000 NGINX_PREFIX=/run/x/nginx NGINX_LOG_DIR=/run/x/logs/nginx CSP_CONNECT_SRC="'self'" \
#       deploy/local/render-nginx.sh /run/x/nginx/nginx.conf
#
# Every variable must be set and non-empty, but NGINX_AUTH_PROXY (default none). NGINX_TEMPLATE
# overrides the template path.
# API_UPSTREAM may list several query-API servers ("127.0.0.1:8000,127.0.0.1:8002"): one `server`
# line each in the upstream, written by deploy/nginx/api-upstream.envsh (the image sources it too).
# NGINX_AUTH_PROXY ("none", or the authenticating proxy's addresses/CIDRs) becomes the template's
# `geo` entries through deploy/nginx/auth-proxy.envsh (likewise).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
template=${NGINX_TEMPLATE:-$here/../nginx/nginx.conf.template}
out=${1:?usage: render-nginx.sh OUTPUT}

# The one optional variable: without it, nginx clears client-sent sign-in headers always.
NGINX_AUTH_PROXY=${NGINX_AUTH_PROXY:-none}
vars=(NGINX_USER NGINX_LISTEN NGINX_ROOT API_UPSTREAM NGINX_PREFIX NGINX_LOG_DIR CSP_CONNECT_SRC NGINX_AUTH_PROXY)
missing=()
for v in "${vars[@]}"; do
    if [[ -z "${!v:-}" ]]; then missing+=("$v"); else export "${v?}"; fi
done
if ((${#missing[@]})); then
    echo "render-nginx.sh: not set: ${missing[*]}" >&2
    exit 2
fi
# shellcheck source=../nginx/api-upstream.envsh
. "$here/../nginx/api-upstream.envsh"
# shellcheck source=../nginx/auth-proxy.envsh
. "$here/../nginx/auth-proxy.envsh"

# shellcheck disable=SC2016  # a literal ${NAME} list for envsubst
shell_format=$(printf '${%s} ' "${vars[@]}")
tmp="$out.tmp.$$"
if command -v envsubst >/dev/null 2>&1; then
    envsubst "$shell_format" <"$template" >"$tmp"
else
    # Same substitution without gettext-base: only ${NAME} for the names above.
    python3 - "$template" "$tmp" "${vars[@]}" <<'PY'
import os, re, sys
src, dst, names = sys.argv[1], sys.argv[2], set(sys.argv[3:])
text = open(src, encoding="utf-8").read()
text = re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}",
              lambda m: os.environ[m.group(1)] if m.group(1) in names else m.group(0), text)
open(dst, "w", encoding="utf-8").write(text)
PY
fi
mv -f "$tmp" "$out"
