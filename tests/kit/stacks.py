"""MiniStack for a block of tests, and the dev stack deployed on one of its own with the functions' AWS calls through
a FaultProxy, behind the local cloud's front: what the reliability suite and the operations tests break and mend.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from handlers.openapi import build_openapi
from localcloud import emulator
from localcloud.deploy import Deployment, deploy
from localcloud.front import Front
from localcloud.graph import capture
from localcloud.users import local_outputs
from tests.kit.faults import FaultProxy


@contextmanager
def running_emulator(log_dir: Path, port: int | None = None, **options: Any) -> Iterator[emulator.Emulator]:
    """MiniStack on `port` (default: a free loopback port), IAM enforced, stopped after the block."""
    server = emulator.start(port, auth=True, log_dir=log_dir, **options)
    try:
        yield server
    finally:
        server.stop()


@dataclass(frozen=True)
class FaultyStack:
    """What `faulty_stack` started: the emulator, the proxy in front of it, the deployment and the front."""

    emulator: emulator.Emulator
    proxy: FaultProxy
    deployment: Deployment
    front: Front
    outputs: dict[str, Any]  # as `pulumi stack output --json` shows them; the front serves them too


@contextmanager
def faulty_stack(config: dict[str, Any], log_dir: Path) -> Iterator[FaultyStack]:
    """The dev graph with `config`'s overrides on MiniStack (IAM enforced), stopped after the block."""
    graph = capture("dev", config)
    port = emulator.free_port()
    proxy = FaultProxy(f"http://{emulator.HOST}:{port}").start()
    try:
        # The Lambda workers inherit MiniStack's environment: their SDK calls go through the proxy.
        with running_emulator(log_dir, port, region=graph.region, extra_env={"AWS_ENDPOINT_URL": proxy.url}) as server:
            deployment = deploy(graph, server)
            front = Front(0, deployment.api_url, build_openapi).start()
            try:
                outputs = front.outputs = local_outputs(deployment, f"{front.url}/")
                yield FaultyStack(server, proxy, deployment, front, outputs)
            finally:
                front.stop()
    finally:
        proxy.stop()
