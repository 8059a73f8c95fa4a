"""`python -m localcloud up`: the whole stack on MiniStack, served at http://127.0.0.1:<port>/.

Starts the emulator (IAM enforced), runs the Pulumi program under the mock runtime, creates its graph and the
demo users, fronts the HTTP API on a plain port with /docs, follows the functions' logs, and on Ctrl-C or SIGTERM
stops everything it started. `outputs` and `token` ask the local cloud running on --port (its front answers
`GET /_localcloud/outputs`). Failures are one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import Any, Generic, TypeVar

import requests

from localcloud import console, emulator, seed, state
from localcloud.deploy import DeployError, Deployment, deploy
from localcloud.front import OUTPUTS_PATH, Front
from localcloud.graph import DEFAULT_REGION, PROJECT_DIR, capture, stack_config
from localcloud.layer import layer_path
from localcloud.logs import LogFollower, log_groups
from localcloud.metrics import QueueMetrics
from localcloud.reload import Reloader
from localcloud.users import ADMIN, CUSTOMER, SignInError, Users, local_outputs, outputs_client, password_of

DEFAULT_PORT = 3000
T = TypeVar("T")


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
    send_event = commands.add_parser("send-event", help="put an event (a JSON file) on the stack's event bus")
    send_event.add_argument("file", help="an EventBridge event ({source, detail-type, detail}) or a PutEvents entry")
    invoke = commands.add_parser("invoke", help="invoke a function once and print its response (like sam local invoke)")
    invoke.add_argument("function", help="the function: product, basket, ordering, or its full name")
    invoke.add_argument("--event", help="the event, a JSON file (default: {}); - reads standard input")
    reset = commands.add_parser("reset", help="delete the data `up --persist` kept for --stack (.localcloud/<stack>/)")
    reset.add_argument("--stack", default="dev", help="the stack whose kept data to delete (default: dev)")
    for p in (parser, up, outputs, token, send_event, invoke):
        p.add_argument(
            "--port", type=int, default=None, help=f"port of the API on 127.0.0.1 (default: $PORT or {DEFAULT_PORT})"
        )
    for p in (parser, up):
        p.add_argument("--stack", default="dev", help="the Pulumi stack whose config to use (default: dev)")
        p.add_argument("--seed", action="store_true", help="load a sample catalogue through the API")
        p.add_argument("--no-auth", action="store_true", help="do not enforce IAM (faster to debug a policy)")
        p.add_argument(
            "--persist",
            action="store_true",
            help="keep the data (tables, users) across restarts in .localcloud/<stack>/ (default: in memory only)",
        )
        p.add_argument(
            "--no-reload", action="store_true", help="do not update the functions when a file of handlers/ changes"
        )
        loudness = p.add_mutually_exclusive_group()
        loudness.add_argument(
            "--quiet", "-q", action="store_true", help="print requests, warnings, errors and queue events only"
        )
        loudness.add_argument(
            "--verbose", "-v", action="store_true", help="also print DEBUG records, metrics and every duration"
        )
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
    # The dependency layer is built once (wheels from PyPI, then cached under build/layers/), the emulator starts
    # and the program runs at the same time: a start waits for the slowest of the three, not for their sum.
    from components.layer_build import archive_path, host_target

    if not archive_path(host_target()).is_file():
        _say("building the functions' dependency layer (first run only: wheels from PyPI) ...")
    layer = _InBackground(layer_path, "layer").start()
    kept = _claim_kept_state(args.stack) if args.persist else None
    # Whatever started is stopped, last first, on the way out: Ctrl-C, SIGTERM, or a failure in any phase.
    with contextlib.ExitStack() as stops:
        if kept:
            stops.callback(state.unlock, kept)
        _say("starting MiniStack ...")
        region = str(stack_config(args.stack).get("aws:region") or DEFAULT_REGION)
        booting = _InBackground(
            lambda: emulator.start(region=region, auth=not args.no_auth, state_dir=kept), "emulator"
        ).start()
        stops.callback(_stop_emulator, booting, kept)
        _say(f"running the Pulumi program (stack {args.stack}, mock runtime) ...")
        graph = capture(args.stack)
        server = booting.wait()
        layer.wait()
        phases = [("program, emulator and layer", time.perf_counter() - started)]
        _say(f"creating {sum(1 for r in graph.resources if r.custom)} resources on MiniStack ...")
        deployment = deploy(graph, server, adopters=state.ADOPTERS if kept else None)
        if deployment.adopted:
            _say(f"kept from the last run: {len(deployment.adopted)} resources with their data (tables, user pool)")
        phases.append(("resources", deployment.seconds))
        users = Users.of(deployment)
        users.create_demo_users()
        phases.append(("users", time.perf_counter() - started - sum(seconds for _, seconds in phases)))
        groups = log_groups(deployment)
        verbosity = console.QUIET if args.quiet else console.VERBOSE if args.verbose else console.NORMAL
        printer = console.Console(_say, groups.values(), route_table(deployment), verbosity).start()
        stops.callback(printer.stop)
        front = Front(port, deployment.api_url, _openapi).start()  # requests print once ready (not the seed's)
        front.outputs = local_outputs(deployment, f"{front.url}/")
        stops.callback(front.stop)
        stops.callback(QueueMetrics(deployment).start().stop)
        if args.seed and deployment.adopted and _has_products(front.url):
            _say("not seeding: the kept catalogue has products (`python -m localcloud reset` empties it)")
        elif args.seed:
            _seed(front.url, users)
        # Following starts before `ready`: a request sent the moment it prints has its invocation's records read.
        stops.callback(LogFollower(deployment.client("logs"), groups, _say, sink=printer.records).start().stop)
        stops.callback(console.QueueWatch(deployment, printer).start().stop)
        front.on_request = printer.request
        if not args.no_reload:
            stops.callback(Reloader(deployment, PROJECT_DIR, lambda line: printer.line("reload", line)).start().stop)
        took = time.perf_counter() - started
        phases.append(("the rest", took - sum(seconds for _, seconds in phases)))
        _banner(args, deployment, front, server, took, phases)
        while True:
            signal.pause()


def _claim_kept_state(stack: str) -> Path:
    """The stack's state folder, locked for this run, holding only the data services' files (localcloud.state)."""
    folder = state.state_dir(stack)
    state.lock(folder)
    state.prune(folder)
    where = folder.relative_to(PROJECT_DIR) if folder.is_relative_to(PROJECT_DIR) else folder
    if state.has_data(folder):
        _say(f"--persist: restoring the data kept in {where}/ (`python -m localcloud reset` deletes it)")
    else:
        _say(f"--persist: no data kept yet; it is saved to {where}/ when this run stops")
    return folder


def _stop_emulator(booting: _InBackground[emulator.Emulator], kept: Path | None) -> None:
    try:
        server = booting.wait()  # stopping while it starts: once it has (a failed start stopped itself)
    except Exception:
        return
    if kept is None:
        server.stop()
        return
    # MiniStack writes its state while it shuts down: give it time before the SIGKILL that would lose it.
    server.stop(timeout=60)
    state.prune(kept)  # what it saved of the other services (and the functions' code blobs) is rebuilt next start
    _say(f"data saved to {kept.relative_to(PROJECT_DIR) if kept.is_relative_to(PROJECT_DIR) else kept}/")


def _has_products(url: str) -> bool:
    response = requests.get(f"{url}/product", params={"limit": 1}, timeout=30)
    return response.status_code == 200 and bool(response.json().get("items"))


class _InBackground(Generic[T]):
    """`work()` in a thread; wait() returns its result or raises its error, in the caller's thread."""

    def __init__(self, work: Callable[[], T], name: str) -> None:
        self._work = work
        self._result: T | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> _InBackground[T]:
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            self._result = self._work()
        except BaseException as error:  # raised again by wait(), in the main thread
            self._error = error

    def wait(self) -> T:
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._result  # type: ignore[return-value]  # set when no error was


def _seed(url: str, users: Users) -> None:
    """Load the sample catalogue and a basket for the demo customer; print their ids."""
    created = seed.seed(url, users.token(ADMIN.name, admin=True))
    _say(f"seeded {len(created)} products:")
    for product in created:
        _say(f"  {product['id']}  {product['name']} ({product['category']}, {product['price']})")
    basket = seed.sample_basket(url, users.sign_in(CUSTOMER.name, CUSTOMER.password), CUSTOMER.name, created)
    lines = ", ".join(f"{line['quantity']} x {line['productName']}" for line in basket["items"])
    _say(f"  basket of {CUSTOMER.name}: {lines}, total {basket['totalPrice']} (check it out: see the README)")
    _say()


def _banner(
    args: argparse.Namespace,
    deployment: Deployment,
    front: Front,
    server: emulator.Emulator,
    took: float,
    phases: Sequence[tuple[str, float]] = (),
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
    # Where a start spends its time (a first run on a busy machine is slow: this says which part).
    spent = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in phases)
    _say(f"ready in {took:.1f} s ({spent}); Ctrl-C stops everything. Function logs follow.")


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


def _read_json(path: str) -> Any:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text()
        return json.loads(text)
    except OSError as error:
        raise ValueError(f"cannot read {path}: {error.strerror}") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not JSON: {error}") from None


def event_entry(event: Any, bus: str) -> dict[str, Any]:
    """A PutEvents entry from an EventBridge event (`source`, `detail-type`, `detail`) or from an entry itself."""
    if not isinstance(event, dict):
        raise ValueError("the event must be a JSON object")
    source = event.get("Source", event.get("source"))
    detail_type = event.get("DetailType", event.get("detail-type"))
    detail = event.get("Detail", event.get("detail"))
    if not source or not detail_type or detail is None:
        raise ValueError("the event needs source, detail-type and detail (or Source, DetailType and Detail)")
    return {
        "Source": str(source),
        "DetailType": str(detail_type),
        "Detail": detail if isinstance(detail, str) else json.dumps(detail),
        "EventBusName": str(event.get("EventBusName") or bus),
    }


def reset(args: argparse.Namespace) -> None:
    folder = state.state_dir(args.stack)
    _say(f"deleted {folder}" if state.reset(folder) else f"nothing kept for stack {args.stack} ({folder})")


def send_event(args: argparse.Namespace) -> None:
    outputs = running_outputs(_port(args.port))
    entry = event_entry(_read_json(args.file), str(outputs["event_bus"]))
    result = outputs_client(outputs, "events").put_events(Entries=[entry])["Entries"][0]
    if "EventId" not in result:
        raise ValueError(f"the bus refused the event: {result.get('ErrorCode')} {result.get('ErrorMessage')}")
    _say(f"sent {entry['DetailType']} from {entry['Source']} to {entry['EventBusName']}: event {result['EventId']}")


def invoke(args: argparse.Namespace) -> None:
    outputs = running_outputs(_port(args.port))
    names = {key.removesuffix("_function"): str(v) for key, v in outputs.items() if key.endswith("_function")}
    function = names.get(args.function) or next((n for n in names.values() if n == args.function), None)
    if function is None:
        raise ValueError(f"no function {args.function!r}: the stack has {', '.join(sorted(names))}")
    event = _read_json(args.event) if args.event else {}
    client = outputs_client(outputs, "lambda")
    aliases = [a["Name"] for a in client.list_aliases(FunctionName=function).get("Aliases", [])]
    qualifier = {"Qualifier": aliases[0]} if aliases else {}  # what the API and the queue invoke (`live`)
    response = client.invoke(FunctionName=function, Payload=json.dumps(event).encode(), **qualifier)
    payload = response["Payload"].read().decode(errors="replace")
    try:
        _say(json.dumps(json.loads(payload), indent=2))
    except ValueError:
        _say(payload)
    if response.get("FunctionError"):
        raise ValueError(f"{function} failed ({response['FunctionError']}); its response is printed above")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # Stopping must work in every phase, even while the emulator starts: unwind from wherever we are.
    signal.signal(signal.SIGTERM, _raise_stopped)
    signal.signal(signal.SIGINT, _raise_stopped)
    try:
        commands = {"outputs": outputs, "token": token, "send-event": send_event, "invoke": invoke, "reset": reset}
        commands.get(args.command, up)(args)
    except _StopRequestedError:
        _say("stopped")
        return 0
    except Exception as error:  # a failure is one line for the user, whatever failed
        expected = isinstance(
            error,
            emulator.EmulatorError | DeployError | ValueError | NotRunningError | SignInError | state.StateInUseError,
        )
        kind = "" if expected else f"{type(error).__name__}: "
        print(f"localcloud: {kind}{' '.join(str(error).split())}", file=sys.stderr, flush=True)
        return 1
    return 0
