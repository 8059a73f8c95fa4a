"""`python -m ops {status,redrive,replay}`: operate a deployed stack (--stack NAME) or a local cloud (--local).

Exit codes: 0 done, 1 the operation failed, 2 the stack (or the local cloud) cannot be found or the arguments
are wrong. Every failure is one line on stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ops import commands
from ops.stack import Stack, StackNotFoundError, from_local_cloud, from_pulumi

DEFAULT_LOCAL_PORT = 3000


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ops", description=__doc__.splitlines()[0])
    where = argparse.ArgumentParser(add_help=False)
    target = where.add_mutually_exclusive_group(required=True)
    target.add_argument("--stack", help="a deployed stack: its outputs come from `pulumi stack output --json`")
    target.add_argument(
        "--local", nargs="?", type=int, const=DEFAULT_LOCAL_PORT, metavar="PORT",
        help=f"the local cloud whose API listens on PORT (default {DEFAULT_LOCAL_PORT})",
    )  # fmt: skip
    where.add_argument("--json", action="store_true", help="print the result as one JSON document")
    commands_ = parser.add_subparsers(dest="command", required=True)
    commands_.add_parser("status", parents=[where], help="queue depths, dead letters with reasons, alarm states")
    redrive = commands_.add_parser("redrive", parents=[where], help="move the DLQ's messages back to the queue")
    redrive.add_argument("--dry-run", action="store_true", help="count what would move; move nothing")
    redrive.add_argument("--max", type=int, default=None, metavar="N", help="move at most N messages")
    replay = commands_.add_parser("replay", parents=[where], help="replay archived events of a window onto the bus")
    replay.add_argument("--from", dest="start", required=True, type=_time, help="ISO-8601 time (UTC if no offset)")
    replay.add_argument("--to", dest="end", required=True, type=_time, help="ISO-8601 time, or 'now'")
    replay.add_argument("--dry-run", action="store_true", help="describe the replay; start nothing")
    replay.add_argument("--wait", type=float, default=900.0, metavar="SECONDS", help="deadline for the replay")
    return parser


def _time(text: str) -> datetime:
    if text == "now":
        return datetime.now(UTC)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO-8601 time such as 2026-12-01T12:00:00Z") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _stack(args: argparse.Namespace) -> Stack:
    return from_pulumi(args.stack) if args.stack else from_local_cloud(args.local)


def _text(command: str, report: dict[str, Any]) -> list[str]:
    if command == "status":
        lines = [f"stack {report['stack']}"]
        for purpose, queue in report["queues"].items():
            age = "no data" if queue["oldest_age_seconds"] is None else f"{queue['oldest_age_seconds']} s"
            lines.append(
                f"  {purpose:<13} visible {queue['visible']:>5}  in flight {queue['in_flight']:>5}  oldest {age}"
            )
        dead = report["dead_letters"]
        lines.append(f"  dead letters: {dead['count']}" + (" (a sample:)" if dead["sample"] else ""))
        for m in dead["sample"]:
            lines.append(
                f"    {m['message_id']}  checkout {m['checkout_id'] or '?'}  sent {m['sent_at']}"
                f"  reason: {m['reason'] or 'not found in the consumer logs'}"
            )
        lines.append("  alarms:")
        lines.extend(f"    {a['state']:<17} {a['name']}" for a in report["alarms"])
        return lines
    if command == "redrive":
        if report["dry_run"]:
            return [f"would move {report['would_move']} message(s) from {report['from']} to {report['to']} (dry run)"]
        failed = f", {report['failed']} refused (left in the DLQ)" if report.get("failed") else ""
        return [
            f"moved {report['moved']} message(s) from {report['from']} to {report['to']} ({report['method']}){failed}"
        ]
    window = f"{report['from']} .. {report['to']}"
    if report["dry_run"]:
        archived = f"archive {report['archive']}, {report['archived_events']} events in all"
        return [f"would replay {window} from {archived} onto {report['bus']} (dry run)"]
    return [f"replay {report['replay']} of {window} onto {report['bus']}: {report['state']}"]


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        stack = _stack(args)
        if args.command == "status":
            report = commands.status(stack)
        elif args.command == "redrive":
            if args.max is not None and args.max < 1:
                raise ValueError(f"--max {args.max}: at least 1")
            report = commands.redrive(stack, dry_run=args.dry_run, max_messages=args.max)
        else:
            report = commands.replay(stack, args.start, args.end, dry_run=args.dry_run, deadline=args.wait)
    except (StackNotFoundError, ValueError) as error:
        print(f"ops: {error}", file=sys.stderr, flush=True)
        return 2
    except (commands.OperationError, ClientError, BotoCoreError) as error:
        print(f"ops: {' '.join(str(error).split())}", file=sys.stderr, flush=True)
        return 1
    print(json.dumps(report, indent=2) if args.json else "\n".join(_text(args.command, report)), flush=True)
    return 0
