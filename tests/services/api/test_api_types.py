"""The front end's API types are generated from the OpenAPI document the API serves, and kept current."""

from __future__ import annotations

import json
import subprocess

from confluence_rag.api.app import create_app
from tests.conftest import REPO

FRONTEND = REPO / "frontend-angular"
GENERATOR = FRONTEND / "node_modules" / ".bin" / "openapi-typescript"
COMMITTED = FRONTEND / "src" / "app" / "core" / "api-types.ts"


def test_committed_api_types_match_the_served_openapi(make_settings, tmp_path):
    assert GENERATOR.exists(), "openapi-typescript is missing: run `make frontend-install`"
    document = tmp_path / "openapi.json"
    document.write_text(json.dumps(create_app(make_settings()).openapi()), encoding="utf-8")
    generated = tmp_path / "api-types.ts"
    # The same command as `make api-types`.
    subprocess.run(
        [str(GENERATOR), str(document), "--default-non-nullable", "false", "-o", str(generated)],
        check=True,
        capture_output=True,
        cwd=FRONTEND,
        timeout=120,
    )
    assert generated.read_text(encoding="utf-8") == COMMITTED.read_text(encoding="utf-8"), (
        "frontend-angular/src/app/core/api-types.ts is stale: run `make api-types` and commit it"
    )


def test_the_generated_types_know_what_the_hand_written_ones_missed():
    types = COMMITTED.read_text(encoding="utf-8")
    source = types[types.index("SourceOut: {") : types.index("SpaceInfo: {")]
    timings = types[types.index("Timings: {") :]
    assert "chunk_id: string" in source and "first_token_ms?: number | null" in timings
