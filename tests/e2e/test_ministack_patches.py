"""localcloud.ministack_patches on a MiniStack started by localcloud.emulator.start: a warm invocation's log
lines land in its own record (LogType=Tail), none in the next one's, and the end-of-invocation marker in none.
And `apply()` refuses a MiniStack whose code it does not recognise."""

from __future__ import annotations

import base64
import io
import json
import uuid
import zipfile
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from localcloud import emulator, ministack_patches

pytestmark = pytest.mark.e2e

HANDLERS = """
import os
import sys


def quiet(event, context):
    return {"pid": os.getpid()}


def chatty(event, context):
    for i in range(3):
        print(f"chatty {event['n']} line {i}")
    print(f"chatty {event['n']} on stderr", file=sys.stderr)
    return {"pid": os.getpid()}


def raising(event, context):
    print(f"raising {event['n']} before")
    if event.get("fail"):
        raise ValueError(f"raising {event['n']} failed in {os.getpid()}")
    return {"pid": os.getpid()}
"""

TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}

Invoke = Callable[[dict[str, Any]], tuple[dict[str, Any], list[str]]]


@pytest.fixture(scope="module")
def function(ministack: emulator.Emulator) -> Callable[[str], Invoke]:
    """A factory: the handler's name -> a way to invoke a new function of it (payload -> result, log lines)."""
    session = boto3.Session(region_name=ministack.region)
    suffix = uuid.uuid4().hex[:8]
    role = session.client("iam", endpoint_url=ministack.endpoint).create_role(
        RoleName=f"patches-{suffix}", AssumeRolePolicyDocument=json.dumps(TRUST)
    )["Role"]["Arn"]
    lam = session.client("lambda", endpoint_url=ministack.endpoint)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("app.py", HANDLERS)

    def create(handler: str) -> Invoke:
        name = f"patches-{handler}-{suffix}"
        lam.create_function(
            FunctionName=name,
            Runtime="python3.11",
            Role=role,
            Handler=f"app.{handler}",
            Code={"ZipFile": archive.getvalue()},
            Timeout=10,
        )
        lam.get_waiter("function_active_v2").wait(FunctionName=name)

        def invoke(payload: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
            response = lam.invoke(FunctionName=name, Payload=json.dumps(payload).encode(), LogType="Tail")
            tail = base64.b64decode(response.get("LogResult", "")).decode()
            result = json.loads(response["Payload"].read())
            return result, tail.splitlines()

        return invoke

    return create


def test_a_quiet_warm_invocation_has_an_empty_record(function: Callable[[str], Invoke]) -> None:
    # Given a handler that prints nothing, invoked once (cold)
    invoke = function("quiet")
    cold, _ = invoke({})
    for n in range(3):
        # When it is invoked again on the same worker
        warm, lines = invoke({"n": n})
        assert warm["pid"] == cold["pid"], f"invocation {n} ran on a new worker: nothing warm tested"
        # Then its record is empty: the end-of-invocation marker is not in it
        assert lines == [], f"quiet invocation {n}"


def test_a_printing_warm_invocation_has_its_own_lines_and_only_those(function: Callable[[str], Invoke]) -> None:
    # Given a handler that prints to stdout and stderr, invoked once (cold)
    invoke = function("chatty")
    cold, _ = invoke({"n": 0})
    for n in range(1, 4):
        # When it is invoked again on the same worker
        warm, lines = invoke({"n": n})
        assert warm["pid"] == cold["pid"], f"invocation {n} ran on a new worker: nothing warm tested"
        # Then its record holds exactly what it printed, in order, and nothing of the invocation before
        expected = [*(f"chatty {n} line {i}" for i in range(3)), f"chatty {n} on stderr"]
        assert lines == expected, f"chatty invocation {n}"


def test_a_raising_warm_invocation_keeps_its_lines_and_leaves_none_to_the_next(
    function: Callable[[str], Invoke],
) -> None:
    # Given a handler that prints, then raises when asked, invoked once (cold)
    invoke = function("raising")
    cold, _ = invoke({"n": 0})
    # When a warm invocation raises
    failed, lines = invoke({"n": 1, "fail": True})
    # Then the failure is reported, and its record holds its own line, then the traceback
    failure = f"raising 1 failed in {cold['pid']}"
    assert failure in json.dumps(failed), f"raising invocation 1 ran on a new worker, or did not fail: {failed}"
    assert lines[0] == "raising 1 before" and lines[-1] == f"ValueError: {failure}", f"raising 1: {lines}"
    assert not [line for line in lines if line.startswith("raising ") and " 1 " not in line], f"raising 1: {lines}"
    # And the next invocations' records hold theirs only
    for n in (2, 3):
        result, lines = invoke({"n": n})
        assert "pid" in result, f"raising invocation {n}: {result}"
        assert lines == [f"raising {n} before"], f"raising invocation {n}"


def test_workers_of_functions_with_one_layer_share_its_single_extraction(ministack: emulator.Emulator) -> None:
    # Given a layer with a module, and two functions using it
    session = boto3.Session(region_name=ministack.region)
    lam = session.client("lambda", endpoint_url=ministack.endpoint)
    suffix = uuid.uuid4().hex[:8]
    role = session.client("iam", endpoint_url=ministack.endpoint).create_role(
        RoleName=f"patches-layer-{suffix}", AssumeRolePolicyDocument=json.dumps(TRUST)
    )["Role"]["Arn"]
    layer_zip, code_zip = io.BytesIO(), io.BytesIO()
    with zipfile.ZipFile(layer_zip, "w") as zipped:
        zipped.writestr("python/shared_in_layer.py", "")
    with zipfile.ZipFile(code_zip, "w") as zipped:
        zipped.writestr(
            "app.py", "import shared_in_layer\n\ndef where(event, context):\n    return shared_in_layer.__file__\n"
        )
    layer = lam.publish_layer_version(LayerName=f"patches-{suffix}", Content={"ZipFile": layer_zip.getvalue()})
    paths = []
    for n in range(2):
        name = f"patches-layer-{n}-{suffix}"
        lam.create_function(
            FunctionName=name,
            Runtime="python3.11",
            Role=role,
            Handler="app.where",
            Code={"ZipFile": code_zip.getvalue()},
            Layers=[layer["LayerVersionArn"]],
            Timeout=10,
        )
        lam.get_waiter("function_active_v2").wait(FunctionName=name)
        # When each function's first worker imports the layer's module
        paths.append(json.loads(lam.invoke(FunctionName=name, Payload=b"{}")["Payload"].read()))
    # Then both workers import it from the one shared extraction, not each from a copy of its own
    assert paths[0] == paths[1] and "ministack-lambda-extract" in paths[0], f"layer module imported from {paths}"


def test_apply_refuses_a_worker_script_without_its_anchor(monkeypatch: pytest.MonkeyPatch) -> None:
    from ministack.core import lambda_runtime

    # Given an in-process MiniStack whose Python worker script no longer ends as the patch expects; every
    # attribute apply() could replace is registered with monkeypatch, which restores it after the test
    worker = lambda_runtime.Worker
    script = lambda_runtime._PYTHON_WORKER_SCRIPT
    invoke = worker.invoke
    monkeypatch.setattr(worker, "invoke", invoke)
    monkeypatch.setattr(worker, "_drain_stderr_bounded", worker._drain_stderr_bounded)
    monkeypatch.setattr(worker, "_localcloud_patched", False, raising=False)
    monkeypatch.setattr(lambda_runtime, "_PYTHON_WORKER_SCRIPT", script.replace("\nrun()\n", "\nmain()\n"))
    # When the patches are applied
    with pytest.raises(ministack_patches.MiniStackChangedError, match="Python worker script"):
        ministack_patches.apply()
    # Then nothing was patched
    assert worker.invoke is invoke and not getattr(worker, "_localcloud_patched", False), "Worker was patched"
    assert "main()" in lambda_runtime._PYTHON_WORKER_SCRIPT, "the worker script was rewritten"
