"""deploy/nginx/nginx.conf.template: rendering (local script and the nginx image's way), `nginx -t`,
and the behaviour that matters, against Debian's nginx and a stand-in API (no backend needed):
SPA fallback, caching, gzip, the /api/ proxy, server-sent events arriving as a stream, body limit.
"""

from __future__ import annotations

import gzip as gz
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.deploy.helpers import (
    DEPLOY,
    RENDER,
    VARS,
    answers_200,
    free_ports,
    local_values,
    nginx_binary,
    public_tempdir,
    render,
    running_nginx,
    wait_until,
)

TEMPLATE = DEPLOY / "nginx" / "nginx.conf.template"
FAKE_BACKEND = Path(__file__).with_name("fake_backend.py")
UPSTREAM_ENVSH = DEPLOY / "nginx" / "api-upstream.envsh"
AUTH_PROXY_ENVSH = DEPLOY / "nginx" / "auth-proxy.envsh"
HASHED_JS = "main-ABCD2345.js"


def image_env() -> dict[str, str]:
    """The ENV of deploy/frontend.Dockerfile's nginx stage (what the image renders with)."""
    text = (DEPLOY / "frontend.Dockerfile").read_text(encoding="utf-8")
    final = text.split("FROM nginx:", 1)[1]
    return dict(re.findall(r"\b([A-Z_]+)=(\S+)", final.split("RUN", 1)[0]))


def image_render(container_env: dict[str, str]) -> str:
    """What the nginx image's entrypoint does: source 18-auth-proxy.envsh and 19-api-upstream.envsh (our
    copies), then 20-envsubst-on-templates.sh: envsubst "$(printf '${%s} ' <every defined name>)"."""
    shell_format = " ".join(f"${{{name}}}" for name in container_env)
    return subprocess.run(
        ["sh", "-c", '. "$0" && . "$1" && exec envsubst "$2"', str(AUTH_PROXY_ENVSH), str(UPSTREAM_ENVSH)]
        + [shell_format],
        input=TEMPLATE.read_text(encoding="utf-8"),
        env=container_env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_template_variables_are_braced_and_known():
    text = TEMPLATE.read_text(encoding="utf-8")
    assert set(re.findall(r"\$\{(\w+)\}", text)) == set(VARS)
    # Upper-case $NAME without braces would be replaced by envsubst if such a variable were set in
    # the container (HOSTNAME, HOME, PATH...); nginx's own variables are lower-case.
    assert not re.findall(r"\$[A-Z_][A-Z0-9_]*\b", text.replace("${", "")), "unbraced upper-case $NAME"


def test_render_requires_every_variable(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in VARS}
    env.update({"NGINX_USER": "x", "NGINX_LISTEN": "1"})
    result = subprocess.run([str(RENDER), str(tmp_path / "n.conf")], env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert "NGINX_ROOT" in result.stderr and "API_UPSTREAM" in result.stderr
    assert not (tmp_path / "n.conf").exists()


def nginx_config_test(base, conf) -> subprocess.CompletedProcess[str]:
    """`nginx -t` on a rendered configuration, with its prefix and error log under `base`."""
    return subprocess.run(
        [nginx_binary(), "-t", "-p", f"{base}/nginx/", "-c", str(conf), "-e", str(base / "logs" / "error.log")],
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_local_render_passes_nginx_t():
    base = public_tempdir("nginx-t-")
    try:
        conf = base / "nginx" / "nginx.conf"
        values = local_values(base, "127.0.0.1:18080", "127.0.0.1:18000", base / "dist")
        text = render(conf, **values)
        assert "${" not in text
        assert "proxy_buffering off;" in text and "$proxy_add_x_forwarded_for" in text
        result = nginx_config_test(base, conf)
        assert result.returncode == 0, result.stderr
        assert "syntax is ok" in result.stderr and "test is successful" in result.stderr
    finally:
        subprocess.run(["rm", "-rf", str(base)], check=False)


def test_image_render_matches_the_local_render(tmp_path):
    """The nginx image substitutes *every* variable set in the container; the result must be the same."""
    values = image_env()
    values["API_UPSTREAM"] = "query-api:8000"
    local = render(tmp_path / "local.conf", **{k: values[k] for k in VARS})
    container_env = {
        **values,
        "HOME": "/root",
        "HOSTNAME": "0123456789ab",
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "PWD": "/",
        "NGINX_VERSION": "1.30.0",
        "NJS_VERSION": "0.9.0",
        "NJS_RELEASE": "1~trixie",
        "PKG_RELEASE": "1~trixie",
        "DYNPKG_RELEASE": "1~trixie",
    }
    image = image_render(container_env)
    assert image == local
    assert "user nginx;" in image and "listen 80;" in image and "server query-api:8000;" in image
    assert "pid /var/cache/nginx/nginx.pid;" in image and "access_log /var/log/nginx/access.log main;" in image


def test_an_upstream_list_becomes_one_server_line_each(tmp_path):
    """API_UPSTREAM="a:1,b:2 c:3": the local render and the image's render give the same upstream block."""
    base = public_tempdir("nginx-list-")
    try:
        conf = base / "nginx" / "nginx.conf"
        values = local_values(base, "127.0.0.1:18080", "127.0.0.1:18001,127.0.0.1:18002 [::1]:18003", base / "dist")
        text = render(conf, **values)
        block = re.search(r"upstream query_api \{(.*?)\}", text, re.S).group(1)
        assert re.findall(r"^\s*server (\S+);$", block, re.M) == ["127.0.0.1:18001", "127.0.0.1:18002", "[::1]:18003"]
        assert "keepalive 16;" in block
        result = nginx_config_test(base, conf)
        assert result.returncode == 0, result.stderr
        image_values = {**image_env(), "API_UPSTREAM": "query-api-1:8000,query-api-2:8000"}
        image = image_render({**image_values, "PATH": os.environ["PATH"]})
        local = render(tmp_path / "local.conf", **{k: image_values[k] for k in VARS})
        assert image == local
        assert "server query-api-1:8000;\n        server query-api-2:8000;" in image
    finally:
        subprocess.run(["rm", "-rf", str(base)], check=False)


@pytest.mark.parametrize("bad", ["127.0.0.1:8000;include /etc/passwd", "api", "api:80x", "$HOST:8000", "*"])
def test_a_bad_upstream_entry_is_refused(tmp_path, bad):
    values = local_values(tmp_path, "127.0.0.1:18080", f"127.0.0.1:18001,{bad}", tmp_path / "dist")
    env = {**{k: v for k, v in os.environ.items() if k not in VARS}, **values}
    result = subprocess.run([str(RENDER), str(tmp_path / "n.conf")], env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert "API_UPSTREAM entry is not host:port" in result.stderr
    assert not (tmp_path / "n.conf").exists()


# --- behaviour, with a real nginx and a stand-in API -----------------------------------------------


class Running:
    def __init__(self, base: Path, port: int, api_port: int):
        self.base, self.port, self.api_port = base, port, api_port
        self.url = f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def served() -> Iterator[Running]:
    base = public_tempdir("nginx-run-")
    port, api_port = free_ports(2)
    dist = base / "dist"
    (dist / "media").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><title>chat</title><app-root></app-root>\n")
    (dist / HASHED_JS).write_text("console.log('chat');\n" * 200)  # > gzip_min_length
    (dist / "favicon.ico").write_bytes(b"\0" * 64)
    api_log = (base / "api.log").open("w")
    api = subprocess.Popen(
        [sys.executable, str(FAKE_BACKEND), "api"],
        env={**os.environ, "API_HOST": "127.0.0.1", "API_PORT": str(api_port), "FAKE_SSE_DELAY": "0.4"},
        stdout=api_log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    values = local_values(base, f"127.0.0.1:{port}", f"127.0.0.1:{api_port}", dist)
    try:
        assert wait_until(lambda: answers_200(f"http://127.0.0.1:{api_port}/api/health"), 20), "fake API did not start"
        with running_nginx(base, values):
            yield Running(base, port, api_port)
    finally:
        api.terminate()
        api.wait(10)
        api_log.close()
        subprocess.run(["rm", "-rf", str(base)], check=False)


def test_spa_fallback_serves_index_html_without_cache(served):
    for path in ("/", "/index.html", "/conversation/42", "/some/deep/route?x=1"):
        r = httpx.get(served.url + path)
        assert r.status_code == 200, path
        assert "<app-root>" in r.text, path
        assert r.headers["cache-control"] == "no-cache", path
        assert r.headers["x-content-type-options"] == "nosniff", path


def test_security_headers_on_everything_served(served):
    from confluence_rag.web.headers import SECURITY_HEADERS

    for path in ("/", "/index.html", "/conversation/42", f"/{HASHED_JS}", "/favicon.ico"):
        r = httpx.get(served.url + path)
        for name, value in SECURITY_HEADERS.items():
            assert r.headers.get(name) == value, (path, name)  # exactly once, the API's own values
    policy = SECURITY_HEADERS["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy and "script-src 'self';" in policy
    # Proxied API answers keep the API's headers, not doubled by nginx.
    api = httpx.get(f"{served.url}/api/health")
    assert api.headers.get_list("x-content-type-options") == ["nosniff"]


def test_the_built_index_html_needs_no_inline_script():
    index = DEPLOY.parent / "frontend-angular" / "dist" / "chat" / "browser" / "index.html"
    if not index.exists():
        pytest.skip("front end not built (make frontend-build)")
    html = index.read_text(encoding="utf-8")
    assert not re.search(r"<script(?![^>]*\bsrc=)", html) and " onload=" not in html


def test_hashed_assets_are_cached_for_a_year(served):
    r = httpx.get(f"{served.url}/{HASHED_JS}")
    assert r.status_code == 200
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert "javascript" in r.headers["content-type"]
    # A missing hashed asset is a 404, not index.html (a stale tab must not run HTML as JS).
    assert httpx.get(f"{served.url}/main-ZZZZ9999.js").status_code == 404
    # Files without a content hash are revalidated.
    assert httpx.get(f"{served.url}/favicon.ico").headers["cache-control"] == "no-cache"


def test_gzip_for_text_assets(served):
    r = httpx.get(f"{served.url}/{HASHED_JS}", headers={"Accept-Encoding": "gzip"})
    assert r.headers.get("content-encoding") == "gzip"
    assert r.headers.get("vary") == "Accept-Encoding"
    raw = httpx.get(f"{served.url}/{HASHED_JS}", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in raw.headers
    assert r.text == raw.text  # httpx decodes
    assert len(gz.compress(raw.content)) < len(raw.content)


def test_api_is_proxied_with_its_path(served):
    r = httpx.get(f"{served.url}/api/health")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    assert httpx.get(f"{served.url}/api/ready").json()["ready"] is True
    # Unknown API paths are the API's 404 (JSON), never the SPA's index.html.
    missing = httpx.get(f"{served.url}/api/nope")
    assert missing.status_code == 404 and missing.json() == {"detail": "Not Found"}


def test_server_sent_events_arrive_as_a_stream(served):
    arrivals: list[tuple[float, str]] = []
    start = time.monotonic()
    with httpx.stream(
        "POST",
        f"{served.url}/api/chat",
        json={"messages": [{"role": "user", "content": "hello"}]},
        headers={"Accept": "text/event-stream"},
        timeout=30,
    ) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        assert "content-length" not in r.headers
        assert r.headers.get("transfer-encoding") == "chunked"
        for line in r.iter_lines():
            if line.startswith("event: "):
                arrivals.append((time.monotonic() - start, line[7:]))
    names = [name for _, name in arrivals]
    assert names == ["sources", "token", "token", "token", "token", "done"]
    # The upstream spaces events by 0.4 s (2.0 s in all). Buffered, they would all arrive at the end.
    first, last = arrivals[0][0], arrivals[-1][0]
    assert first < 1.0, f"first event after {first:.2f}s: the response is buffered"
    assert last - first > 1.2, f"events arrived together ({arrivals})"


def test_request_body_limit(served):
    ok = httpx.post(f"{served.url}/api/echo-size", content=b"x" * 200_000)
    assert ok.status_code == 200 and ok.json() == {"bytes": 200_000}
    too_big = httpx.post(f"{served.url}/api/echo-size", content=b"x" * (3 * 1024 * 1024))
    assert too_big.status_code == 413


def test_healthz_does_not_touch_the_api(served):
    r = httpx.get(f"{served.url}/healthz")
    assert r.status_code == 200 and r.text == "ok\n"


def test_requests_are_spread_over_every_listed_replica():
    """Two stand-in APIs listed in API_UPSTREAM: nginx answers from both (round robin)."""
    base = public_tempdir("nginx-replicas-")
    port, *api_ports = free_ports(3)
    apis = []
    upstream = ",".join(f"127.0.0.1:{p}" for p in api_ports)
    try:
        for api_port in api_ports:
            apis.append(
                subprocess.Popen(
                    [sys.executable, str(FAKE_BACKEND), "api"],
                    env={**os.environ, "API_HOST": "127.0.0.1", "API_PORT": str(api_port)},
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
            )
        for api_port in api_ports:
            started = wait_until(lambda p=api_port: answers_200(f"http://127.0.0.1:{p}/api/health"), 20)
            assert started, "fake API did not start"
        with running_nginx(base, local_values(base, f"127.0.0.1:{port}", upstream, base / "dist")) as url:
            seen = [httpx.get(f"{url}/api/debug/env").json()["API_PORT"] for _ in range(8)]
        assert set(seen) == {str(p) for p in api_ports}, seen
    finally:
        for api in apis:
            api.terminate()
            api.wait(10)
        subprocess.run(["rm", "-rf", str(base)], check=False)


@pytest.mark.parametrize("bad", ["10.0.0.1;include /etc/passwd", "$remote_addr", "proxy.example.com"])
def test_a_bad_auth_proxy_entry_is_refused(tmp_path, bad):
    values = local_values(tmp_path, "127.0.0.1:18080", "127.0.0.1:18001", tmp_path / "dist")
    env = {**{k: v for k, v in os.environ.items() if k not in VARS}, **values, "NGINX_AUTH_PROXY": f"10.1.0.0/16,{bad}"}
    result = subprocess.run([str(RENDER), str(tmp_path / "n.conf")], env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert "NGINX_AUTH_PROXY entry is not an address or CIDR" in result.stderr
    assert not (tmp_path / "n.conf").exists()


def test_the_auth_proxy_list_becomes_geo_entries_and_passes_nginx_t():
    base = public_tempdir("nginx-auth-proxy-")
    try:
        conf = base / "nginx" / "nginx.conf"
        values = local_values(base, "127.0.0.1:18080", "127.0.0.1:18000", base / "dist")
        text = render(conf, **{**values, "NGINX_AUTH_PROXY": "10.0.0.5, 10.1.0.0/16,::1"})
        block = re.search(r"geo \$from_auth_proxy \{(.*?)\}", text, re.S).group(1)
        assert re.findall(r"^\s*(\S+) 1;$", block, re.M) == ["10.0.0.5", "10.1.0.0/16", "::1"]
        assert nginx_config_test(base, conf).returncode == 0
        default = render(conf, **values)  # none: no entry, every client's sign-in headers cleared
        assert not re.findall(r"^\s*\S+ 1;$", re.search(r"geo \$from_auth_proxy \{(.*?)\}", default, re.S).group(1))
    finally:
        subprocess.run(["rm", "-rf", str(base)], check=False)


@pytest.mark.parametrize(
    "path",
    [
        "/metrics",
        "/api/metrics",
        "/api/metrics/",
        "/api/metrics?format=x",
        "/api//metrics",
        "/api/%6Detrics",
        "/x/../api/metrics",
        "/API/Metrics",
        "/metrics/x",
    ],
)
def test_metrics_are_never_served_through_nginx(served, path):
    """The stand-in API answers /metrics and /api/metrics to anyone: nginx must answer 404 itself."""
    assert httpx.get(f"http://127.0.0.1:{served.api_port}/api/metrics").status_code == 200
    r = httpx.get(f"{served.url}{path}")
    assert r.status_code == 404, path
    assert "served to anyone" not in r.text and "<app-root>" not in r.text
    assert r.headers["x-frame-options"] == "DENY"  # the server's headers still apply
