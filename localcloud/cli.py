"""`python -m localcloud up`: the whole stack on MiniStack, served at http://127.0.0.1:<port>/.

Starts the emulator (IAM enforced), runs the Pulumi program under the mock runtime, creates its graph and the
demo users, fronts the HTTP API on a plain port with /docs, follows the functions' logs, and on Ctrl-C or SIGTERM
stops everything it started. `outputs` and `token` ask the local cloud running on --port (its front answers
`GET /_localcloud/outputs`). Failures are one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Any

import requests

from localcloud import emulator, seed
from localcloud.deploy import DeployError, Deployment, deploy
from localcloud.front import OUTPUTS_PATH, Front
from localcloud.graph import PROJECT_DIR, capture
from localcloud.logs import LogFollower, log_groups
from localcloud.metrics import QueueMetrics
from localcloud.users import ADMIN, CUSTOMER, SignInError, Users, local_outputs, password_of

DEFAULT_PORT = 3000


class _StopRequestedError(Exception):
    """SIGTERM or SIGINT arrived; unwinding stops what was started."""


class NotRunningError(RuntimeError):
    """No local cloud answers on the port `outputs` or `token` asked."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m localcloud", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command")
    up = commands.add_parser("up", help="run the stack locally (the default)")
    outputs = commands.add_parser("outputs", help="print the running local cloud's stack outputs as JSON")
    token = commands.add_parser("token", help="print an access token of a user of the running local cloud")
    token.add_argument("user", help=f"user name (the demo users: {ADMIN.name}, {CUSTOMER.name})")
    token.add_argument("--password", help="the user's password (default: the demo user's)")
    for p in (parser, up, outputs, token):
        p.add_argument(
            "--port", type=int, default=None, help=f"port of the API on 127.0.0.1 (default: $PORT or {DEFAULT_PORT})"
        )
    for p in (parser, up):
        p.add_argument("--stack", default="dev", help="the Pulumi stack whose config to use (default: dev)")
        p.add_argument("--seed", action="store_true", help="load a sample catalogue through the API")
        p.add_argument("--no-auth", action="store_true", help="do not enforce IAM (faster to debug a policy)")
    return parser


def _port(arg: int | None) -> int:
    if arg is not None:
        return arg
    raw = os.environ.get("PORT") or str(DEFAULT_PORT)
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise ValueError(f"PORT={raw!r} is not a port number")
    return int(raw)


def _say(line: str = "") -> None:
    print(line, flush=True)


def _openapi() -> dict[str, Any] | None:
    try:
        from handlers.openapi import build_openapi
    except ImportError:
        return None
    return build_openapi()


def route_table(deployment: Deployment) -> list[tuple[str, str, str]]:
    """(method, path, function) for every route, the function found through the route's integration."""
    integrations = {
        str(deployment.outputs[i.urn]["id"]): str(deployment.outputs[i.urn].get("integrationUri", ""))
        for i in deployment.resources("aws:apigatewayv2/integration:Integration")
    }
    functions = {
        str(deployment.outputs[f.urn]["arn"]): deployment.service_of(f)
        for f in deployment.resources("aws:lambda/function:Function")
    }
    rows = []
    for route in deployment.resources("aws:apigatewayv2/route:Route"):
        outputs = deployment.outputs[route.urn]
        method, _, path = str(outputs["routeKey"]).partition(" ")
        uri = integrations.get(str(outputs.get("target", "")).removeprefix("integrations/"), "")
        target = next((name for arn, name in functions.items() if arn in uri), "?")
        rows.append((method, path, target))
    return sorted(rows, key=lambda row: (row[1], row[0]))


def up(args: argparse.Namespace) -> None:
    port = _port(args.port)
    if not emulator.port_is_free(port):
        raise emulator.EmulatorError(
            f"port {port} on {emulator.HOST} is already in use (choose another with --port or PORT=)"
        )
    if not (PROJECT_DIR / f"Pulumi.{args.stack}.yaml").is_file():
        raise ValueError(f"no stack {args.stack!r}: {PROJECT_DIR / f'Pulumi.{args.stack}.yaml'} does not exist")
    started = time.perf_counter()
    graph = capture(args.stack)
    server = emulator.start(region=graph.region, auth=not args.no_auth)
    stoppers: list[Callable[[], None]] = [lambda: server.stop()]
    try:
        deployment = deploy(graph, server)
        users = Users.of(deployment)
        users.create_demo_users()
        front = Front(port, deployment.api_url, _openapi, _access_line(deployment)).start()
        front.outputs = local_outputs(deployment, f"{front.url}/")
        stoppers.append(front.stop)
        metrics = QueueMetrics(deployment).start()
        stoppers.append(metrics.stop)
        if args.seed:
            created = seed.seed(front.url, users.token(ADMIN.name, admin=True))
            _say(f"seeded {len(created)} products")
        _banner(args, deployment, front, server, time.perf_counter() - started)
        follower = LogFollower(deployment.client("logs"), log_groups(deployment), _say).start()
        stoppers.append(follower.stop)
        while True:
            signal.pause()
    finally:
        for stop in reversed(stoppers):
            stop()


def _access_line(deployment: Deployment) -> Callable[[str, str, int, float], None]:
    width = max((len(name) for name in log_groups(deployment).values()), default=0)

    def line(method: str, path: str, status: int, seconds: float) -> None:
        _say(f"{'http':<{width}} | {method} {path} -> {status} ({seconds * 1000:.0f} ms)")

    return line


def _banner(
    args: argparse.Namespace, deployment: Deployment, front: Front, server: emulator.Emulator, took: float
) -> None:
    custom = sum(1 for r in deployment.graph.resources if r.custom)
    auth = "IAM not enforced (--no-auth)" if args.no_auth else "IAM enforced"
    _say(f"stack {args.stack}: {custom} resources created on MiniStack in {deployment.seconds:.1f} s ({auth})")
    _say(f"  API   {front.url}/")
    _say(f"  docs  {front.url}/docs")
    _say(f"  AWS   {server.endpoint}  (aws --endpoint-url {server.endpoint}, credentials test / test)")
    _say(f"  users {ADMIN.name} / {ADMIN.password} (group admin), {CUSTOMER.name} / {CUSTOMER.password}")
    port = "" if front.url.endswith(f":{DEFAULT_PORT}") else f" --port {front.url.rsplit(':', 1)[1]}"
    _say(f"        TOKEN=$(python -m localcloud token {CUSTOMER.name}{port})")
    _say(f'        curl -H "Authorization: Bearer $TOKEN" {front.url}/basket/{CUSTOMER.name}')
    _say(f"        python -m localcloud outputs{port}   (the stack outputs as JSON)")
    _say()
    rows = route_table(deployment)
    width = max((len(path) for _, path, _ in rows), default=0)
    for method, path, function in rows:
        _say(f"  {method:<7} {path:<{width}}  -> {function}")
    _say()
    _say(f"ready in {took:.1f} s; Ctrl-C stops everything. Function logs follow.")


def _raise_stopped(signum: int, frame: FrameType | None) -> None:
    # A second Ctrl-C must not interrupt the cleanup the first one started.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise _StopRequestedError(signal.Signals(signum).name)


def running_outputs(port: int) -> dict[str, Any]:
    """The outputs of the local cloud whose front listens on `port`; NotRunningError if none answers there."""
    url = f"http://{emulator.HOST}:{port}{OUTPUTS_PATH}"
    hint = "start one with `make dev` (or `python -m localcloud up`), or name its port with --port"
    try:
        response = requests.get(url, timeout=10)
    except requests.ConnectionError:
        raise NotRunningError(f"no local cloud is running on port {port}: {hint}") from None
    if response.status_code != 200 or "json" not in response.headers.get("Content-Type", ""):
        raise NotRunningError(f"port {port} answers {url} with {response.status_code}, not a local cloud: {hint}")
    return dict(response.json())


def outputs(args: argparse.Namespace) -> None:
    _say(json.dumps(running_outputs(_port(args.port)), indent=2))


def token(args: argparse.Namespace) -> None:
    users = Users.from_outputs(running_outputs(_port(args.port)))
    _say(users.sign_in(args.user, args.password or password_of(args.user)))


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # Stopping must work in every phase, even while the emulator starts: unwind from wherever we are.
    signal.signal(signal.SIGTERM, _raise_stopped)
    signal.signal(signal.SIGINT, _raise_stopped)
    try:
        {"outputs": outputs, "token": token}.get(args.command, up)(args)
    except _StopRequestedError:
        _say("stopped")
        return 0
    except Exception as error:  # a failure is one line for the user, whatever failed
        expected = isinstance(error, emulator.EmulatorError | DeployError | ValueError | NotRunningError | SignInError)
        kind = "" if expected else f"{type(error).__name__}: "
        print(f"localcloud: {kind}{' '.join(str(error).split())}", file=sys.stderr, flush=True)
        return 1
    return 0
