"""Hot reload: a saved handler reaches the running function, a change to the graph asks for a restart.

The local cloud runs from a copy of the project (the repository's files are never edited by a test).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import requests

from tests.kit.cloud import PROJECT_DIR, start_local_cloud, stop_local_cloud
from tests.kit.polling import eventually

pytestmark = pytest.mark.e2e

_NOT_COPIED = shutil.ignore_patterns(
    ".git", ".venv", "build", "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache", ".hypothesis"
)
# Appended to the copy's product handler: every answer then carries a header saying the new code served it.
_WRAPPER = """

_handler_before_the_edit = handler


def handler(event, context):  # type: ignore[no-redef]
    response = _handler_before_the_edit(event, context)
    response.setdefault("headers", {})["X-Reloaded"] = "yes"
    return response
"""


def _copy_project(into: Path) -> Path:
    shutil.copytree(PROJECT_DIR, into, ignore=_NOT_COPIED)
    # The dependency layer built for this interpreter, so the copy needs no PyPI (linked: 20 MB each).
    (into / "build" / "layers").mkdir(parents=True)
    for built in (PROJECT_DIR / "build" / "layers").glob("deps-host-*"):
        try:
            os.link(built, into / "build" / "layers" / built.name)
        except OSError:
            shutil.copy2(built, into / "build" / "layers" / built.name)
    return into


def test_a_saved_handler_is_served_within_seconds_and_a_component_change_asks_for_a_restart(tmp_path: Path) -> None:
    # Given a local cloud running from a copy of the project, its product function answering
    project = _copy_project(tmp_path / "project")
    cloud = start_local_cloud(cwd=project)
    try:
        before = requests.get(f"{cloud.api}/product", timeout=30)
        assert before.status_code == 200 and "X-Reloaded" not in before.headers, before.headers

        # When the product handler is saved with a change
        app = project / "handlers" / "product" / "app.py"
        app.write_text(app.read_text() + _WRAPPER)

        # Then the console says the product function was reloaded, and the API serves the new code
        cloud.read_until(r"^reload\s+\| handlers/product/app\.py changed: reloaded product \(version \d+\)", 30)

        def reloaded() -> bool | None:
            return True if requests.get(f"{cloud.api}/product", timeout=30).headers.get("X-Reloaded") else None

        eventually(reloaded, deadline=15, what="GET /product served by the edited handler")

        # When a component is saved, Then the console says a restart is needed
        component = project / "components" / "http_api.py"
        component.write_text(component.read_text() + "\n")
        cloud.read_until(r"^reload\s+\| WARNING components/http_api\.py changed: restart the local cloud", 15)
    finally:
        stop_local_cloud(cloud)
