"""/docs in a real browser (Debian's headless Chromium, driven by Playwright): Swagger UI renders the OpenAPI 3.1
document offline, lists every operation, runs GET /product from "Try it out", and takes a bearer token."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from tests.kit.cloud import PROJECT_DIR, LocalCloud

pytestmark = pytest.mark.e2e

SCREENSHOTS = PROJECT_DIR / "build" / "docs"  # docs-top.png as rendered, docs-get-product.png after Execute
TIMEOUT_MS = 60_000  # a busy 2-core machine parses a 1.7 MB bundle slowly


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install -r requirements-dev.txt")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.fail("no chromium on PATH: apt-get install -y chromium (.ci/run installs it)")
    with sync_api.sync_playwright() as playwright:
        # Playwright's own browser download is not used: the system's Chromium, so nothing is fetched at test time.
        launched = playwright.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


def _operations(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
        if method in {"get", "put", "post", "delete", "patch", "head", "options"}
    }


def _try_out(page: Any, path: str) -> tuple[Any, str]:
    """Open GET `path` on the page, try it out and execute it: the operation, and its live response's status."""
    operation = page.locator(".opblock-get").filter(has=page.locator(f'[data-path="{path}"]')).first
    operation.locator(".opblock-summary").click()
    operation.locator(".try-out__btn").click()
    operation.locator(".execute").click()
    status = operation.locator(".live-responses-table tbody .response-col_status").first
    status.wait_for(timeout=TIMEOUT_MS)
    return operation, str(status.inner_text()).strip()


def test_docs_render_every_operation_run_get_product_and_stay_on_the_machine(
    local_cloud: LocalCloud, browser: Any
) -> None:
    document = requests.get(f"{local_cloud.api}/openapi.json", timeout=30).json()
    assert document["openapi"].startswith("3.1"), document["openapi"]
    token = local_cloud.admin()["Authorization"].removeprefix("Bearer ")
    page = browser.new_page(viewport={"width": 1280, "height": 1600})
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        # Given the docs page, rendered
        page.goto(f"{local_cloud.api}/docs", timeout=TIMEOUT_MS)
        page.wait_for_selector(".opblock", timeout=TIMEOUT_MS)
        assert "Unable to render this definition" not in page.content()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "docs-top.png"))

        # Then every operation of the document is listed, under its method and path
        listed = {
            (
                summary.query_selector(".opblock-summary-method").inner_text().strip(),
                summary.query_selector("[data-path]").get_attribute("data-path"),
            )
            for summary in page.query_selector_all(".opblock-summary")
        }
        assert listed == _operations(document), f"listed vs documented: {sorted(listed ^ _operations(document))}"

        # When GET /product is tried out and executed
        get_product, status = _try_out(page, "/product")
        # Then its live response is a 200
        assert status == "200", f"GET /product tried out on /docs: {status}"

        # And Authorize takes a bearer token, which an admin-only operation then carries (GET /order: 200)
        page.locator(".auth-wrapper .authorize").first.click()
        dialog = page.locator(".dialog-ux .modal-ux")
        dialog.locator("input").first.fill(token)
        dialog.locator("button.authorize").first.click()
        dialog.locator("button.btn-done").first.click()
        _, order_status = _try_out(page, "/order")
        assert order_status == "200", f"GET /order tried out on /docs with the admin's token: {order_status}"

        get_product.scroll_into_view_if_needed()
        page.screenshot(path=str(SCREENSHOTS / "docs-get-product.png"))
    finally:
        page.close()

    # And the page asked nothing of any other machine: every request went to the local cloud's 127.0.0.1
    elsewhere = [url for url in requested if urlsplit(url).hostname != "127.0.0.1"]
    assert not elsewhere, f"requests off the machine: {elsewhere}"
    assert any(urlsplit(url).path == "/openapi.json" for url in requested), requested
    assert not errors, f"errors on the page: {errors}"


def test_docs_files_are_served_with_their_types(local_cloud: LocalCloud, http: requests.Session) -> None:
    for name, kind in [("swagger-ui-bundle.js", "text/javascript"), ("swagger-ui.css", "text/css")]:
        response = http.get(f"{local_cloud.api}/docs/{name}", timeout=30)
        assert response.status_code == 200 and response.headers["Content-Type"].startswith(kind), name
        assert response.content == (Path(PROJECT_DIR) / "localcloud" / "swagger_ui" / name).read_bytes(), name
