"""Layering rules of ARCHITECTURE.md that a test can hold."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "sbyt"
INTERFACE_APPS = {"portal", "backoffice", "api"}
DOMAIN_APPS = sorted(
    p.name for p in ROOT.iterdir() if p.is_dir() and (p / "apps.py").exists() and p.name not in INTERFACE_APPS
)


def imported_modules(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


@pytest.mark.parametrize("app", DOMAIN_APPS)
def test_domain_apps_never_import_interface_apps(app):
    offenders = [
        f"{path.relative_to(ROOT)} imports {module}"
        for path in (ROOT / app).rglob("*.py")
        for module in imported_modules(path)
        if module.split(".")[:2] in (["sbyt", name] for name in INTERFACE_APPS)
    ]
    assert offenders == []


def test_interface_apps_have_no_models():
    for app in INTERFACE_APPS:
        models = ROOT / app / "models.py"
        assert not models.exists() or "models.Model" not in models.read_text(encoding="utf-8"), app


def test_the_rule_sees_a_violation(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from sbyt.portal import views\nimport sbyt.api.urls\n", encoding="utf-8")
    assert list(imported_modules(bad)) == ["sbyt.portal", "sbyt.api.urls"]
