"""The API explorer (Swagger UI) served from the product itself: no CDN, so it works offline.

The assets come from the PyPI package swagger-ui-py (Swagger UI 5, which reads OpenAPI 3.1).
"""

from __future__ import annotations

from pathlib import Path

import swagger_ui
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from confluence_rag.web.headers import policy_for

ASSETS = Path(swagger_ui.__file__).parent / "static"


def mount_docs(app: FastAPI, docs_url: str, openapi_url: str) -> None:
    """`docs_url` serves Swagger UI; its script and style files under `docs_url`/assets."""
    assets_url = f"{docs_url}/assets"
    app.mount(assets_url, StaticFiles(directory=ASSETS), name="swagger-ui-assets")

    @app.get(docs_url, include_in_schema=False)
    async def docs() -> HTMLResponse:
        page = get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} - API explorer",
            swagger_js_url=f"{assets_url}/swagger-ui-bundle.js",
            swagger_css_url=f"{assets_url}/swagger-ui.css",
            swagger_favicon_url=f"{assets_url}/favicon-32x32.png",
            swagger_ui_parameters={"validatorUrl": None},
        )
        html = page.body.decode()
        return HTMLResponse(html, headers={"Content-Security-Policy": policy_for(html)})
