"""The routing core stays pure: no I/O library and no adapter is imported from `acd/`."""

import ast
from pathlib import Path

import acd

FORBIDDEN = {
    "asyncio",
    "socket",
    "sqlalchemy",
    "fastapi",
    "panoramisk",
    "cti",
    "ivr",
    "agent_console",
    "reports",
}
# The asyncio driver (acd/runner.py, see STYLE.md, and its parts for callbacks, campaign
# calls and transfers) is the one place beside the core that may import asyncio, cti,
# and the domain events of reports/ it journals; nothing more.
DRIVER_ALLOWED = {
    "runner.py": {"asyncio", "cti", "reports"},
    "callback_calls.py": {"asyncio", "cti", "reports"},
    "campaign_calls.py": {"reports"},
    "transfers.py": {"cti", "reports"},
}


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_no_core_module_imports_io_or_adapters() -> None:
    package = Path(acd.__file__).parent
    modules = list(package.rglob("*.py"))
    assert len(modules) >= 10
    offenders = {}
    for path in modules:
        forbidden = FORBIDDEN - DRIVER_ALLOWED.get(path.name, set())
        if found := imported_roots(path) & forbidden:
            offenders[str(path.relative_to(package))] = sorted(found)
    assert offenders == {}


def test_the_walker_sees_both_import_forms(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("import asyncio.events\nfrom cti.errors import CtiError\nfrom . import x\n")
    assert imported_roots(module) == {"asyncio", "cti"}


def test_every_core_module_says_what_lives_there() -> None:
    package = Path(acd.__file__).parent
    for path in package.rglob("*.py"):
        assert ast.get_docstring(ast.parse(path.read_text())), f"{path.name} has no docstring"
