"""The OpenAPI document Swagger UI shows at /docs: every operation under its service's tag, with a summary; a 204
declares no body."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.handlers


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    # In a child process: the handler modules read their environment at import, and this session's are MiniStack's.
    out = subprocess.run(
        [sys.executable, "-m", "handlers.openapi"], cwd=PROJECT_DIR, capture_output=True, text=True, check=True
    )
    return dict(json.loads(out.stdout))


def test_every_operation_has_its_services_tag_and_a_summary(document: dict[str, Any]) -> None:
    tags = [tag["name"] for tag in document["tags"]]
    assert tags == ["product", "basket", "ordering"], tags
    prefix_of = {"product": "/product", "basket": "/basket", "ordering": "/order"}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            (tag,) = operation["tags"]
            assert path.startswith(prefix_of[tag]), f"{method.upper()} {path} tagged {tag}"
            assert operation["summary"] and operation["summary"] != f"{method.upper()} {path}", (method, path)


def test_a_204_has_no_body(document: dict[str, Any]) -> None:
    no_content = [
        (method, path, operation["responses"]["204"])
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        if "204" in operation["responses"]
    ]
    assert len(no_content) == 2, no_content  # DELETE /product/{id}, DELETE /basket/{userName}
    assert all("content" not in response for _, _, response in no_content), no_content
