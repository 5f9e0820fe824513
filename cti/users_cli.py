"""`cti users add | passwd | list`: the people who log in to the web app, from the shell.

The tenant and the agent id are checked against the configuration when there is
one (`<config_dir>/tenants/*.yaml`); the database (`--url`, default
`CTI_DATABASE_URL`) is brought to the current schema first.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from pathlib import Path
from typing import Any

from cti.config import PlatformConfig, TenantConfig, load_config
from cti.db import create_engine
from cti.errors import ConfigError, CtiError
from cti.settings import Settings
from cti.store import users
from cti.store.schema import upgrade


def add_arguments(subparsers: Any) -> None:
    """Add the `users` command to the `cti` parser's subparsers."""
    parser = subparsers.add_parser("users", help="web users: add, passwd, list")
    actions = parser.add_subparsers(dest="users_action", required=True)

    add = actions.add_parser("add", help="add a user to a tenant")
    _common(add)
    add.add_argument("--username", required=True)
    add.add_argument("--role", required=True, choices=users.ROLES)
    add.add_argument("--agent-id", help="the agent of the tenant's configuration (agents)")
    add.add_argument("--extension", help="default: the agent's extension in the configuration")
    add.add_argument("--display-name")
    _password_options(add)

    passwd = actions.add_parser("passwd", help="set a user's password")
    _common(passwd)
    passwd.add_argument("--username", required=True)
    _password_options(passwd)

    listing = actions.add_parser("list", help="list a tenant's users")
    _common(listing)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tenant", required=True)
    parser.add_argument("--url", help="database URL (default: CTI_DATABASE_URL)")


def _password_options(parser: argparse.ArgumentParser) -> None:
    given = parser.add_mutually_exclusive_group()
    given.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    given.add_argument("--password", help="the password (visible to other local users: avoid)")


def run(args: argparse.Namespace) -> int:
    """Carry out `cti users ...`; 0 on success, 2 on a user error."""
    settings = Settings() if args.config_dir is None else Settings(config_dir=args.config_dir)
    try:
        config = _config(settings.config_dir)
        tenant = _tenant(config, args.tenant)
        if args.users_action == "list":
            return asyncio.run(_list(args.url or settings.database_url, args.tenant))
        if args.users_action == "add":
            agent_id, extension = _agent(tenant, args)
            password = _password(args)
            return asyncio.run(
                _add(args.url or settings.database_url, args, agent_id, extension, password)
            )
        password = _password(args)
        return asyncio.run(_passwd(args.url or settings.database_url, args, password))
    except CtiError as exc:
        print(f"cti users: {exc}", file=sys.stderr)
        return 2


def _config(config_dir: Path) -> PlatformConfig | None:
    if not (config_dir / "tenants").is_dir():
        print(
            f"cti users: warning: no configuration in {config_dir}: tenant and agent not checked",
            file=sys.stderr,
        )
        return None
    try:
        return load_config(config_dir)
    except ConfigError as exc:
        raise CtiError(f"configuration error: {exc}") from exc


def _tenant(config: PlatformConfig | None, tenant_id: str) -> TenantConfig | None:
    if config is None:
        return None
    for tenant in config.tenants:
        if tenant.tenant.id == tenant_id:
            return tenant
    known = ", ".join(t.tenant.id for t in config.tenants)
    raise CtiError(f"unknown tenant {tenant_id!r}: the configuration has {known}")


def _agent(tenant: TenantConfig | None, args: argparse.Namespace) -> tuple[str | None, str | None]:
    """The agent id and extension to store, checked against the tenant's agents."""
    agent_id: str | None = args.agent_id
    extension: str | None = args.extension
    if args.role == "agent" and agent_id is None:
        raise CtiError("an agent user needs --agent-id (the agent's id in the configuration)")
    if agent_id is None or tenant is None:
        return agent_id, extension
    for agent in tenant.agents:
        if agent.id == agent_id:
            return agent_id, extension if extension is not None else agent.extension
    known = ", ".join(a.id for a in tenant.agents) or "none"
    raise CtiError(
        f"tenant {tenant.tenant.id!r} has no agent {agent_id!r} in its configuration"
        f" (its agents: {known})"
    )


def _password(args: argparse.Namespace) -> str:
    if args.password is not None:
        password: str = args.password
    elif args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Password again: ") != password:
            raise CtiError("the two passwords differ")
    else:
        raise CtiError("give the password with --password-stdin (or --password)")
    users.check_password_policy(password)
    return password


async def _add(
    url: str,
    args: argparse.Namespace,
    agent_id: str | None,
    extension: str | None,
    password: str,
) -> int:
    engine = create_engine(url)
    try:
        await upgrade(engine)
        if agent_id is not None:
            for other in await users.list_users(engine, args.tenant):
                if other.agent_id == agent_id:
                    raise CtiError(f"agent {agent_id!r} is already the user {other.username!r}")
        user = await users.create_user(
            engine,
            args.tenant,
            args.username,
            args.role,
            password,
            agent_id=agent_id,
            extension=extension,
            display_name=args.display_name,
        )
    finally:
        await engine.dispose()
    print(f"added {user.role} {user.username!r} to tenant {user.tenant_id!r}")
    return 0


async def _passwd(url: str, args: argparse.Namespace, password: str) -> int:
    engine = create_engine(url)
    try:
        await upgrade(engine)
        await users.set_password(engine, args.tenant, args.username, password)
    finally:
        await engine.dispose()
    print(f"password of {args.username!r} in tenant {args.tenant!r} changed")
    return 0


async def _list(url: str, tenant_id: str) -> int:
    engine = create_engine(url)
    try:
        await upgrade(engine)
        found = await users.list_users(engine, tenant_id)
    finally:
        await engine.dispose()
    rows = [("USERNAME", "ROLE", "AGENT", "EXTENSION", "NAME")]
    rows += [
        (u.username, u.role, u.agent_id or "-", u.extension or "-", u.display_name or "")
        for u in found
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True)]
        print("  ".join([*cells, row[4]]).rstrip())
    if not found:
        print(f"(no users in tenant {tenant_id!r})", file=sys.stderr)
    return 0
