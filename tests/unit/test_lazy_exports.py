"""The two packages' PEP 562 exports (one helper, :mod:`pytest_kafka_patterns._lazy`):
every public name resolves, nothing is imported before a name is used, unknown names
raise AttributeError."""

from __future__ import annotations

import subprocess
import sys
from types import ModuleType

import pytest

import pytest_kafka_patterns
import pytest_kafka_patterns.contracts

PACKAGES = [pytest_kafka_patterns, pytest_kafka_patterns.contracts]


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.__name__)
def test_every_public_name_resolves_and_is_listed(package: ModuleType) -> None:
    for name in package.__all__:
        assert getattr(package, name) is not None
        assert name in dir(package)
        assert name in vars(package), "cached after the first use"
    with pytest.raises(AttributeError, match=rf"module '{package.__name__}' has no attribute"):
        package.no_such_name  # noqa: B018


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.__name__)
def test_importing_the_package_imports_no_submodule_until_a_name_is_used(
    package: ModuleType,
) -> None:
    script = (
        "import sys, importlib\n"
        f"package = importlib.import_module({package.__name__!r})\n"
        "loaded = lambda: sorted(m for m in sys.modules if m.startswith('pytest_kafka_patterns.')"
        " and m.rsplit('.', 1)[1] not in ('_lazy', 'contracts'))\n"
        "print(loaded())\n"
        f"getattr(package, {package.__all__[0]!r})\n"
        "print(len(loaded()) > 0)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True).stdout.split("\n")
    assert out[:2] == ["[]", "True"]
