"""Section 4: the whole path through the local cloud, started as a user starts it.

`python -m localcloud up --port <free>` runs in a subprocess; requests go over loopback HTTP through
MiniStack's HTTP API data plane to the deployed functions. Two figures: requests/s of
`GET /product/{id}` from a few client threads (a bounded number of requests), and how long a checkout
takes to become an order visible at `GET /order/{userName}` (bus -> queue -> consumer -> table). Requests
carry the access tokens the API's JWT authorizer checks (signed in before timing, as a client already is).

MiniStack gives each concurrent invocation its own worker process, as Lambda gives it an execution
environment, and a new worker is a cold start. Before timing, the product function is warmed to one
worker per client thread, so the requests/s are warm throughput; the warm-up's cold starts are
reported beside it.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import requests

from bench import stack
from bench.harness import Context
from bench.stats import summary
from bench.workload import checkout_body, product_body
from localcloud.users import Users
from tests.kit import processes
from tests.kit.cloud import running_local_cloud
from tests.kit.environment import AWS_ENV

ORDER_DEADLINE_S = 30.0
POLL_INTERVAL_S = 0.005
# A request may start a function worker (a cold start: ~0.3 s idle, tens of seconds on a saturated machine);
# the front itself gives the emulator 60 s. A benchmark waits for an answer rather than fail on a busy machine.
REQUEST_TIMEOUT_S = 60.0
WARM_DEADLINE_S = 60.0  # a worker's cold start is ~0.3 s; this bounds a machine that is very busy
WARM_ROUNDS_MAX = 20


def warm_workers(target: str, workers: int, count: Callable[[], int]) -> dict[str, Any]:
    """Rounds of `workers` concurrent requests, released together, until `count()` reaches `workers`.

    A request that finds every worker busy makes MiniStack start another, so a round can add up to
    `workers - 1`; the rounds stop at the count, at WARM_ROUNDS_MAX or at WARM_DEADLINE_S, whichever
    comes first, and the figures say which.
    """
    barrier = threading.Barrier(workers)
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()

    def one_request(session: requests.Session) -> None:
        barrier.wait(timeout=WARM_DEADLINE_S)
        started = time.perf_counter()
        try:
            response = session.get(target, timeout=30)
            detail = "" if response.status_code == 200 else f"{response.status_code} {response.text[:200]}"
        except requests.RequestException as exc:
            detail = repr(exc)
        with lock:
            latencies.append((time.perf_counter() - started) * 1000)
            if detail:
                failures.append(detail)

    sessions = [requests.Session() for _ in range(workers)]
    started = time.perf_counter()
    deadline = time.monotonic() + WARM_DEADLINE_S
    rounds, seen = 0, count()
    try:
        # At least one round, so there are latencies to report even where enough workers were already warm.
        while rounds == 0 or (rounds < WARM_ROUNDS_MAX and time.monotonic() < deadline and seen < workers):
            pool = [threading.Thread(target=one_request, args=(session,)) for session in sessions]
            for thread in pool:
                thread.start()
            for thread in pool:
                thread.join()
            rounds += 1
            seen = count()
    finally:
        for session in sessions:
            session.close()
    if failures:
        raise RuntimeError(f"{len(failures)} warm-up GET /product/{{id}} failed, e.g. {failures[0]}")
    return {
        "workers_wanted": workers,
        "workers_seen": seen,
        "rounds": rounds,
        "seconds": round(time.perf_counter() - started, 3),
        # The slowest requests of the warm-up are the workers' cold starts through the whole path.
        "latency_ms": summary(latencies),
    }


def requests_per_second(url: str, product_id: str, total: int, threads: int) -> dict[str, Any]:
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    target = f"{url}/product/{product_id}"

    def worker(count: int) -> None:
        mine: list[float] = []
        with requests.Session() as session:
            for _ in range(count):
                started = time.perf_counter()
                try:
                    response = session.get(target, timeout=REQUEST_TIMEOUT_S)
                    ok = response.status_code == 200
                    detail = f"{response.status_code} {response.text[:200]}"
                except requests.RequestException as exc:
                    ok, detail = False, repr(exc)
                mine.append((time.perf_counter() - started) * 1000)
                if not ok:
                    with lock:
                        failures.append(detail)
        with lock:
            latencies.extend(mine)

    shares = [total // threads + (1 if i < total % threads else 0) for i in range(threads)]
    pool = [threading.Thread(target=worker, args=(share,)) for share in shares]
    started = time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise RuntimeError(f"{len(failures)} of {total} GET /product/{{id}} failed, e.g. {failures[0]}")
    return {
        "requests": total,
        "threads": threads,
        "seconds": round(elapsed, 3),
        "requests_per_second": round(total / elapsed, 1),
        "latency_ms": summary(latencies),
    }


def checkout_to_order(url: str, users: Users, product_id: str, checkouts: int) -> dict[str, Any]:
    run = uuid.uuid4().hex[:6]
    to_order: list[float] = []
    checkout_ms: list[float] = []
    with requests.Session() as session:
        # The first round is a warm-up: the basket and ordering workers' cold starts are section 1's.
        for i in range(checkouts + 1):
            user = f"lc-{run}-{i}"
            signed_in = users.bearer(user)
            basket: dict[str, Any] = {"userName": user, "items": [{"productId": product_id, "quantity": 1}]}
            response = session.post(f"{url}/basket", json=basket, headers=signed_in, timeout=REQUEST_TIMEOUT_S)
            if response.status_code != 200:
                raise RuntimeError(f"POST /basket for {user} answered {response.status_code}: {response.text[:300]}")
            started = time.perf_counter()
            response = session.post(
                f"{url}/basket/checkout", json=checkout_body(user), headers=signed_in, timeout=REQUEST_TIMEOUT_S
            )
            accepted_ms = (time.perf_counter() - started) * 1000
            if response.status_code != 202:
                raise RuntimeError(f"checkout of {user} answered {response.status_code}: {response.text[:300]}")
            deadline = started + ORDER_DEADLINE_S
            while True:
                orders = session.get(f"{url}/order/{user}", headers=signed_in, timeout=REQUEST_TIMEOUT_S)
                if orders.status_code == 200 and orders.json().get("items"):
                    if i > 0:
                        to_order.append((time.perf_counter() - started) * 1000)
                        checkout_ms.append(accepted_ms)
                    break
                if time.perf_counter() > deadline:
                    raise TimeoutError(f"checkout of {user} did not become an order within {ORDER_DEADLINE_S:.0f}s")
                time.sleep(POLL_INTERVAL_S)
    return {
        "checkouts": checkouts,
        "checkout_request_ms": summary(checkout_ms),
        "checkout_to_order_ms": summary(to_order),
        "poll_interval_ms": POLL_INTERVAL_S * 1000,
    }


def run(ctx: Context) -> dict[str, Any]:
    started = time.perf_counter()
    product_function = stack.functions(ctx)["product"].name
    threads = ctx.sizes.rps_threads
    ctx.log_dir.mkdir(parents=True, exist_ok=True)
    # The emulator's credentials and region, and none of the benchmark's own settings.
    env = {k: v for k, v in os.environ.items() if not k.startswith("BENCH_")} | AWS_ENV
    with running_local_cloud(cwd=stack.project_path(), env=env, log=ctx.log_dir / "localcloud.log") as cloud:
        url = cloud.api
        ready_s = time.perf_counter() - started
        response = requests.post(
            f"{url}/product", json=product_body(1), headers=cloud.admin(), timeout=REQUEST_TIMEOUT_S
        )
        if response.status_code != 201:
            raise RuntimeError(f"POST /product answered {response.status_code}: {response.text[:300]}")
        product_id = response.json()["id"]
        warm_up = warm_workers(
            f"{url}/product/{product_id}",
            threads,
            lambda: len(processes.lambda_workers(cloud.process.pid, product_function)),
        )
        return {
            "startup_seconds": round(ready_s, 2),
            "warm_up": warm_up,
            "get_product": requests_per_second(url, product_id, ctx.sizes.rps_requests, threads),
            "checkout": checkout_to_order(url, cloud.users, product_id, ctx.sizes.checkouts),
        }
