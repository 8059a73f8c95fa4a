"""X-Ray tracing with Powertools' Tracer, only where the stack turns it on (`tracing`: the functions'
`POWERTOOLS_TRACE_DISABLED` is "false").

Building a Tracer imports the X-Ray SDK (aws-xray-sdk, wrapt) even when it is disabled, and patches botocore.
So it is built only when tracing is on: with tracing off nothing of the X-Ray SDK is imported, and every helper
here costs one attribute check. With tracing on, each invocation is a subsegment, every botocore call (DynamoDB,
EventBridge) is traced, and a checkout's id is an annotation (searchable: `annotation.checkoutId = "..."`).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar, cast

if TYPE_CHECKING:
    from aws_lambda_powertools import Tracer

Handler = TypeVar("Handler", bound=Callable[..., Any])


def enabled() -> bool:
    """Tracing is on for this function: the stack says so, and Lambda runs it (X-Ray needs Lambda's trace header)."""
    disabled = os.environ.get("POWERTOOLS_TRACE_DISABLED", "true").strip().lower() in ("true", "1")
    return not disabled and bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))


@cache
def tracer() -> Tracer | None:
    if not enabled():
        return None
    from aws_lambda_powertools import Tracer

    # Only botocore: the functions make no other outbound calls worth a subsegment.
    return Tracer(patch_modules=["botocore"])


def lambda_handler(handler: Handler) -> Handler:
    """`handler` as a traced Lambda handler when tracing is on; `handler` itself when it is off."""
    active = tracer()
    return handler if active is None else cast(Handler, active.capture_lambda_handler(handler))


def annotate(key: str, value: str) -> None:
    """An annotation on the current subsegment (nothing when tracing is off)."""
    active = tracer()
    if active is not None:
        active.put_annotation(key=key, value=value)


@contextlib.contextmanager
def subsegment(name: str, **annotations: str) -> Iterator[None]:
    """A subsegment of its own (one per SQS record), annotated; nothing when tracing is off."""
    active = tracer()
    if active is None:
        yield
        return
    with active.provider.in_subsegment(name=name) as segment:
        for key, value in annotations.items():
            segment.put_annotation(key=key, value=value)
        yield
