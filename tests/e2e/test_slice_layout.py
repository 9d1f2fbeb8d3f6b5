"""The slices keep their shape: ingest holds only the pipeline, and a service is a surface, not a hall of re-exports.

import-linter (``make lint``) checks which slice imports which; these check what it cannot: where a module lives,
and that a slice's ``service.py`` defines what it offers (docs/architecture.md, "The slices").
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INGEST_MODULES = {
    "__init__",
    "idempotency",
    "parse",
    "persist",
    "pipeline",
    "schemas",
    "service",
    "spam",
    "validate",
    "writer",
}
"""The pipeline's steps and the public submit helpers: leads, consent and privacy have slices of their own."""
STILL_RE_EXPORTED = {
    "delivery/service.py": {
        "Event",
        "attempts_past_retention",
        "blank_attempt_bodies",
        "enqueue",
        "enqueue_many",
        "get_delivery",
        "list_deliveries",
        "new_secret",
        "retry_delivery",
        "verify",
    },
    "forms/service.py": {"validate_definition"},
}
"""Services that still re-export names from their own slice's modules; the list may only shrink."""


def _re_exported(path: Path) -> set[str]:
    """The names in a module's ``__all__`` that it imports rather than defines."""
    tree = ast.parse(path.read_text())
    imported: set[str] = set()
    exported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom | ast.Import):
            imported.update(alias.asname or alias.name.split(".")[0] for alias in node.names)
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets):
            assert isinstance(node.value, ast.Tuple | ast.List), path
            exported.update(str(ast.literal_eval(element)) for element in node.value.elts)
    return exported & imported


def test_ingest_holds_only_the_pipeline_and_its_sources() -> None:
    modules = {path.stem for path in (ROOT / "ingest").glob("*.py")}
    packages = {path.parent.name for path in (ROOT / "ingest").glob("*/__init__.py")}

    assert modules == INGEST_MODULES
    assert packages == {"sources"}


def test_a_slices_service_defines_what_it_offers() -> None:
    services = sorted(ROOT.glob("*/service.py")) + sorted(ROOT.glob("*/*/service.py"))
    found = {str(path.relative_to(ROOT)): _re_exported(path) for path in services}

    assert {"ingest/service.py", "leads/service.py", "consent/service.py", "privacy/service.py"} <= set(found)
    assert {path: names for path, names in found.items() if names} == STILL_RE_EXPORTED
