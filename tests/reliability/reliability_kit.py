"""What the reliability suites share: the running stack, an HTTP client that keeps the books, and the run's report.

Every HTTP response any suite receives passes through `Report.observe` (a `requests` response hook), so the
report counts requests and 5xx answers, and remembers every accepted checkout (a 202 from /basket/checkout):
those are the orders the final audit expects to find exactly once.

Requests carry the access token of the caller the API's rules expect (`caller_of`): the user a request is about,
or the admin (tests.kit.events). Users are created in the stack's user pool on first use (localcloud.users).
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

import requests
from boto3.dynamodb.conditions import Key
from requests import Response

from localcloud.deploy import Deployment
from localcloud.emulator import Emulator
from localcloud.front import Front
from localcloud.users import ADMIN, Users
from tests.kit.events import caller_of, to_json
from tests.kit.faults import FaultProxy
from tests.kit.polling import eventually

T = TypeVar("T")

CHECKOUT_PATH = "/basket/checkout"
BUYER = {
    "firstName": "Ada",
    "lastName": "Lovelace",
    "email": "ada@example.org",
    "address": "12 Analytical Row, London",
    "paymentMethod": "CARD",
}

# What an error body must never show: a traceback, a Python or botocore exception class, an AWS error code,
# an ARN or an internal resource name.
_LEAKS = re.compile(
    r"Traceback|File \"|\bbotocore\b|\bboto3\b|arn:aws:|ecommerce-[a-z0-9]+-"
    r"|\b[A-Z][A-Za-z]*(?:Error|Exception|Exceeded|Failure|Denied|NotFound)\b"
    r"|\b(?:ConditionalCheckFailed|ThrottlingException|ProvisionedThroughput|AccessDenied|InternalFailure"
    r"|ResourceNotFound|ValidationException|UnrecognizedClient|InvalidSignature)"
)


def leaks(body: str, echoed: Iterable[str] = ()) -> list[str]:
    """Internals that `body` shows, ignoring the request's own values it may quote back (a name is a name)."""
    for value in sorted((v for v in echoed if len(v) >= 4), key=len, reverse=True):
        body = body.replace(value, "")
    return sorted({match.group(0) for match in _LEAKS.finditer(body)})


# `caller=` of Api.request: who makes the request; by default the one the rules expect (`caller_of`).
AUTO = "<the caller the rules expect>"


@dataclass(frozen=True)
class Accepted:
    """A checkout answered 202: it must become exactly one order with this total."""

    checkout_id: str
    user_name: str
    total: Decimal
    by: str  # the test that was running


@dataclass
class Report:
    """The books of one run; `summary()` is what the terminal shows and build/ keeps as JSON."""

    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    unexpected_5xx: list[str] = field(default_factory=list)
    expected_5xx: int = 0
    accepted: dict[str, Accepted] = field(default_factory=dict)
    examples: Counter[str] = field(default_factory=Counter)  # suite -> hypothesis examples run
    poisons: set[str] = field(default_factory=set)  # checkoutIds of events published to fail: the DLQ's due
    proxy: FaultProxy | None = None
    audit: dict[str, Any] = field(default_factory=dict)  # filled by the final audit
    current_test: str = ""
    _expecting: tuple[int, ...] = ()
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def observe(self, response: Response, *args: Any, **kwargs: Any) -> None:
        request = response.request
        line = f"{request.method} {request.path_url} -> {response.status_code}"
        with self._lock:
            self.requests += 1
            self.statuses[response.status_code] += 1
            if response.status_code in self._expecting:
                self.expected_5xx += 1
            elif response.status_code >= 500:
                self.unexpected_5xx.append(f"{self.current_test}: {line} {response.text[:200]}")
            if response.status_code == 202 and request.method == "POST" and request.path_url == CHECKOUT_PATH:
                body = response.json(parse_float=Decimal)
                previous = self.accepted.get(body["checkoutId"])
                if previous is not None and previous.total != Decimal(str(body["totalPrice"])):
                    self.unexpected_5xx.append(f"{self.current_test}: {line} re-accepted with another total")
                self.accepted.setdefault(
                    body["checkoutId"],
                    Accepted(body["checkoutId"], body["userName"], Decimal(str(body["totalPrice"])), self.current_test),
                )

    @contextlib.contextmanager
    def expecting(self, *statuses: int) -> Iterator[None]:
        """5xx answers of `statuses` inside this block are the ones the test provokes (an injected fault, a known
        bug it tracks): counted apart from the 5xx that are bugs."""
        with self._lock:
            previous, self._expecting = self._expecting, (*self._expecting, *statuses)
        try:
            yield
        finally:
            with self._lock:
                self._expecting = previous

    def expecting_503(self) -> contextlib.AbstractContextManager[None]:
        return self.expecting(503)

    def summary(self) -> dict[str, Any]:
        proxy = self.proxy
        injected = Counter({f"{target} {label}": n for (target, label), n in proxy.injected.items()}) if proxy else {}
        return {
            "requests": self.requests,
            "statuses": {str(status): n for status, n in sorted(self.statuses.items())},
            "5xx_unexpected": len(self.unexpected_5xx),
            "5xx_unexpected_requests": self.unexpected_5xx[:20],
            "5xx_provoked": self.expected_5xx,
            "hypothesis_examples": dict(self.examples),
            "faults_injected": dict(sorted(injected.items())),
            "faults_injected_total": sum(injected.values()),
            "function_aws_calls_forwarded": sum(proxy.forwarded.values()) if proxy else 0,
            "checkouts_accepted": len(self.accepted),
            **self.audit,
        }


class Api:
    """The HTTP API at `base`, through `requests`, every response observed by the report, every request made by the
    caller the rules expect unless `caller=` names one (None: anonymous) or the request has its own Authorization."""

    def __init__(self, base: str, report: Report, users: Users) -> None:
        self.base = base
        self.report = report
        self.users = users
        self._local = threading.local()

    def auth(self, user: str | None) -> dict[str, str]:
        """The headers of a request made by `user` (the admin is in the admin group; None: nobody signed in)."""
        if user is None:
            return {}
        return self.users.bearer(user, admin=user == ADMIN.name)

    def session(self) -> requests.Session:
        """One session per thread (a Session is not meant to be shared between threads)."""
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.hooks["response"].append(self.report.observe)
            self._local.session = session
        return session

    def request(self, method: str, path: str, *, caller: str | None = AUTO, **kwargs: Any) -> Response:
        headers = dict(kwargs.pop("headers", None) or {})
        if not any(name.lower() == "authorization" for name in headers):
            who = caller_of(path, kwargs.get("json")) if caller == AUTO else caller
            headers = {**self.auth(who), **headers}
        # Generous: a burst of parallel requests makes the emulator start a worker per request, on two cores.
        return self.session().request(method, self.base + path, timeout=90, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, *, caller: str | None = AUTO, **kwargs: Any) -> Response:
        return self.request(
            "POST", path, caller=caller_of(path, body) if caller == AUTO else caller, **_json_body(body, kwargs)
        )

    def put(self, path: str, body: Any = None, *, caller: str | None = AUTO, **kwargs: Any) -> Response:
        return self.request(
            "PUT", path, caller=caller_of(path, body) if caller == AUTO else caller, **_json_body(body, kwargs)
        )

    def delete(self, path: str, **kwargs: Any) -> Response:
        return self.request("DELETE", path, **kwargs)

    # --- the steps most tests take ---

    def create_product(self, price: str | Decimal, category: str = "reliability", name: str = "Widget") -> str:
        response = self.post("/product", {"name": name, "price": Decimal(price), "category": category})
        assert response.status_code == 201, f"POST /product -> {response.status_code} {response.text}"
        return str(response.json()["id"])

    def set_basket(self, user: str, lines: list[tuple[str, int]]) -> dict[str, Any]:
        body = {"userName": user, "items": [{"productId": p, "quantity": q} for p, q in lines]}
        response = self.post("/basket", body)
        assert response.status_code == 200, f"POST /basket {body} -> {response.status_code} {response.text}"
        return dict(response.json(parse_float=Decimal))

    def checkout(self, user: str) -> Response:
        return self.post(CHECKOUT_PATH, {"userName": user, **BUYER})


def _json_body(body: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
    """`kwargs` with `body` as JSON. `requests`' own `json=` knows no Decimal; money has <= 2 decimals and few
    digits, so the shortest repr of its float is exactly its decimal value: the server reads the same Decimal."""
    if body is None:
        return kwargs
    text = to_json(body)
    headers = {"Content-Type": "application/json", **(kwargs.pop("headers", None) or {})}
    return {**kwargs, "data": text.encode(), "headers": headers}


@dataclass
class Cloud:
    """The stack on MiniStack for the whole run: emulator, faults proxy, deployment, front and API client."""

    emulator: Emulator
    proxy: FaultProxy
    deployment: Deployment
    front: Front
    api: Api
    report: Report
    tables: dict[str, str]  # service -> physical name
    queue_url: str
    dlq_url: str
    delivery_dlq_url: str
    bus_name: str
    mapping_uuid: str
    consumer_name: str
    max_receive_count: int
    _dynamodb: Any = field(default=None, repr=False)

    def client(self, service: str) -> Any:
        return self.deployment.client(service)

    def table(self, service: str) -> Any:
        if self._dynamodb is None:
            self._dynamodb = self.deployment.session().resource("dynamodb", endpoint_url=self.deployment.endpoint)
        return self._dynamodb.Table(self.tables[service])

    def orders_of(self, user: str) -> list[dict[str, Any]]:
        result = self.table("ordering").query(KeyConditionExpression=Key("userName").eq(user), ConsistentRead=True)
        return list(result["Items"])

    def all_orders(self) -> list[dict[str, Any]]:
        table = self.table("ordering")
        items, kwargs = [], {"ConsistentRead": True}
        while True:
            page = table.scan(**kwargs)
            items.extend(page["Items"])
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def depth(self, queue_url: str) -> int:
        """Messages in the queue, visible or in flight."""
        attributes = self.client("sqs").get_queue_attributes(
            QueueUrl=queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])

    def peek(self, queue_url: str) -> list[dict[str, Any]]:
        """The queue's messages, left where they are (received with a visibility timeout of 0)."""
        sqs = self.client("sqs")
        seen: dict[str, dict[str, Any]] = {}
        for _ in range(5):  # a receive samples the queue; a few cover a handful of messages
            for message in sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0, AttributeNames=["All"]
            ).get("Messages", []):
                seen[message["MessageId"]] = message
        return list(seen.values())

    def drained(self, deadline: float = 60.0) -> None:
        """Wait until the checkout queue is empty: every delivered event was acknowledged or dead-lettered."""
        eventually(
            lambda: True if self.depth(self.queue_url) == 0 else None,
            what="checkout queue drained",
            deadline=deadline,
            interval=0.2,
        )

    def exactly_one_order(self, user: str, checkout_id: str, deadline: float = 30.0) -> dict[str, Any]:
        """Wait for the order of `checkout_id` and check that it is the only one of this checkout."""

        def probe() -> list[dict[str, Any]] | None:
            orders = [o for o in self.orders_of(user) if o["orderId"] == checkout_id]
            return orders or None

        orders = eventually(probe, what=f"order {checkout_id} of {user}", deadline=deadline)
        assert len(orders) == 1, f"checkout {checkout_id} of {user} became {len(orders)} orders: {orders}"
        return orders[0]
