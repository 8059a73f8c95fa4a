"""`up --persist`: the stack's data kept across restarts in .localcloud/<stack>/, its wiring built anew each start.

MiniStack saves each service's state to STATE_DIR when it stops (its shutdown, which SIGTERM and so Ctrl-C reach,
writes `<service>.json`; nothing is saved periodically, so a SIGKILL or a crash loses what that run changed) and
loads it when it starts (PERSIST_STATE=1). Of what it saved, only the data is kept: DynamoDB (products, baskets,
orders) and Cognito (the user pool, its users, and the keys that sign their tokens, so a token taken before a
restart is still accepted after it). Every other service's file - functions, API, queues, bus, roles, log
groups - is deleted before the emulator starts, and the deploy creates those from the current program, as on a
fresh start: a restart runs the current code and configuration, never a stale copy. Messages still on a queue
when it stopped, and the bus's archive, are not kept.

The deploy adopts the restored data resources (ADOPTERS: by the physical name the program gives them) instead of
creating them again. A table whose key schema the program has changed since cannot hold the kept items: that is
an error which says how to start over (`python -m localcloud reset`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from localcloud.deploy import Adopter
from localcloud.graph import PROJECT_DIR, Resource
from localcloud.resources import Context, Outputs

ROOT = PROJECT_DIR / ".localcloud"  # git-ignored; LOCALCLOUD_STATE_DIR moves it (the tests keep theirs apart)
# What MiniStack writes for the data services; everything else in the folder is dropped before a start.
KEPT = frozenset({"dynamodb.json", "cognito.json", "cognito-rsa-key.pem", "cognito-pool-keys"})
_LOCK = "running.pid"


class StateInUseError(RuntimeError):
    """Another local cloud is running with the same stack's kept state."""


def state_dir(stack: str, root: Path | None = None) -> Path:
    return (root or Path(os.environ.get("LOCALCLOUD_STATE_DIR") or ROOT)) / stack


def prune(folder: Path) -> None:
    """Delete what MiniStack saved for every service but the data ones (and the Lambda code blobs it keeps)."""
    if not folder.is_dir():
        return
    for entry in folder.iterdir():
        if entry.name in KEPT or entry.name == _LOCK:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def has_data(folder: Path) -> bool:
    return any((folder / name).exists() for name in ("dynamodb.json", "cognito.json"))


def lock(folder: Path) -> None:
    """Claim the folder for this process: two emulators saving into one folder would overwrite each other."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / _LOCK
    with contextlib.suppress(FileNotFoundError, ValueError):
        owner = int(path.read_text().strip())
        if owner != os.getpid() and Path(f"/proc/{owner}").exists():
            raise StateInUseError(
                f"the kept state in {folder} is in use by another local cloud (pid {owner}): stop it first"
            )
    path.write_text(f"{os.getpid()}\n")


def unlock(folder: Path) -> None:
    with contextlib.suppress(FileNotFoundError, ValueError):
        if int((folder / _LOCK).read_text().strip()) == os.getpid():
            (folder / _LOCK).unlink()


def reset(folder: Path) -> bool:
    """Delete the kept state (refused while a local cloud runs with it); False if there was none."""
    if not folder.exists():
        return False
    lock(folder)  # raises StateInUseError if a live process holds it
    shutil.rmtree(folder)
    return True


# --- adopting the restored data resources --------------------------------------------------------------


def _name(r: Resource, i: Mapping[str, Any]) -> str:
    return str(i.get("name") or r.physical_name)


def _table(ctx: Context, r: Resource, i: Mapping[str, Any]) -> Outputs | None:
    ddb = ctx.client("dynamodb")
    name = _name(r, i)
    try:
        table = ddb.describe_table(TableName=name)["Table"]
    except ddb.exceptions.ResourceNotFoundException:
        return None
    declared = {(i.get("hashKey"), "HASH"), *([(i["rangeKey"], "RANGE")] if i.get("rangeKey") else [])}
    kept = {(k["AttributeName"], k["KeyType"]) for k in table["KeySchema"]}
    if i.get("hashKey") and kept != declared:
        raise ValueError(
            f"the kept table {name} has the key {sorted(kept)} but the program now declares {sorted(declared)}: "
            "start over with `python -m localcloud reset` (its items are deleted)"
        )
    return {"id": name, "name": name, "arn": table["TableArn"], "streamArn": table.get("LatestStreamArn")}


def _user_pool(ctx: Context, r: Resource, i: Mapping[str, Any]) -> Outputs | None:
    cognito = ctx.client("cognito-idp")
    name = _name(r, i)
    pools = cognito.get_paginator("list_user_pools").paginate(MaxResults=60)
    found = [p["Id"] for page in pools for p in page["UserPools"] if p["Name"] == name]
    if not found:
        return None
    pool = cognito.describe_user_pool(UserPoolId=found[0])["UserPool"]
    return {
        "id": pool["Id"],
        "arn": pool["Arn"],
        "name": pool["Name"],
        "endpoint": f"cognito-idp.{ctx.region}.amazonaws.com/{pool['Id']}",
    }


def _user_pool_client(ctx: Context, r: Resource, i: Mapping[str, Any]) -> Outputs | None:
    cognito = ctx.client("cognito-idp")
    name = _name(r, i)
    pages = cognito.get_paginator("list_user_pool_clients").paginate(UserPoolId=i["userPoolId"], MaxResults=60)
    found = [c["ClientId"] for page in pages for c in page["UserPoolClients"] if c["ClientName"] == name]
    if not found:
        return None
    client = cognito.describe_user_pool_client(UserPoolId=i["userPoolId"], ClientId=found[0])["UserPoolClient"]
    return {"id": client["ClientId"], "clientSecret": client.get("ClientSecret") or ""}


def _user_group(ctx: Context, r: Resource, i: Mapping[str, Any]) -> Outputs | None:
    cognito = ctx.client("cognito-idp")
    name = _name(r, i)
    try:
        cognito.get_group(UserPoolId=i["userPoolId"], GroupName=name)
    except cognito.exceptions.ResourceNotFoundException:
        return None
    return {"id": f"{i['userPoolId']}/{name}", "name": name}


# The types whose state KEPT holds: each returns the restored resource's outputs, or None to create it.
ADOPTERS: dict[str, Adopter] = {
    "aws:dynamodb/table:Table": _table,
    "aws:cognito/userPool:UserPool": _user_pool,
    "aws:cognito/userPoolClient:UserPoolClient": _user_pool_client,
    "aws:cognito/userGroup:UserGroup": _user_group,
}
