"""The console stays split by page group: no module of it grows past ~300 lines (CONVENTIONS.md, habit 8)."""

from __future__ import annotations

from pathlib import Path

import console

__all__ = ()

_CEILING = 300
_CONSOLE = Path(console.__file__).parent


def _sizes() -> dict[str, int]:
    return {
        str(path.relative_to(_CONSOLE.parent)): len(path.read_text(encoding="utf-8").splitlines())
        for path in sorted(_CONSOLE.rglob("*.py"))
    }


def test_the_console_has_modules_to_measure() -> None:
    # Without this, a wrong folder would find no modules and the test below would pass on nothing.
    assert "console/routes.py" in _sizes()


def test_no_console_module_is_over_300_lines() -> None:
    """A page group that outgrows this gets a module of its own, as sign-in, forms, leads and webhooks have."""
    over = {name: lines for name, lines in _sizes().items() if lines > _CEILING}
    assert not over, f"console modules over {_CEILING} lines (split them by page group): {over}"
