#!/usr/bin/env bash
# The package as a user gets it: build the wheel and the sdist, check their metadata
# (twine check), install the wheel alone in a fresh virtualenv, and run the README's
# "Use it in your project" example there, outside this checkout (no conftest, no
# pyproject of ours): the plugin must register itself and start its broker from the wheel.
set -euo pipefail
cd "$(dirname "$0")/.."

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

.venv/bin/python -m build --outdir "$work/dist" . >"$work/build.log" 2>&1 \
    || { cat "$work/build.log"; exit 1; }
.venv/bin/python -m twine check --strict "$work"/dist/*
ls "$work"/dist/*.whl "$work"/dist/*.tar.gz >/dev/null  # both artifacts exist

# The wheel carries the license and one version, the one the package reports.
wheel="$(ls "$work"/dist/*.whl)"
.venv/bin/python - "$wheel" <<'EOF'
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), "LICENSE missing from the wheel"
assert "pytest_kafka_patterns/py.typed" in names, "py.typed missing from the wheel"
for avsc in ("order_created.avsc", "order_status_changed.avsc"):  # the [avro] schemas
    assert f"pytest_kafka_patterns/schemas/{avsc}" in names, f"{avsc} missing from the wheel"
EOF

python3 -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet "$wheel"
installed="$("$work/venv/bin/python" -c 'import importlib.metadata as m, pytest_kafka_patterns as p; assert m.version("pytest-kafka-patterns") == p.__version__; print(p.__version__)')"
echo "wheel installs as pytest-kafka-patterns $installed"

# The README's first example, verbatim, as a user's test file.
.venv/bin/python - README.md "$work/smoke/test_orders.py" <<'EOF'
import pathlib, re, sys
text = pathlib.Path(sys.argv[1]).read_text()
section = text.split("## Use it in your project", 1)[1]
code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
out = pathlib.Path(sys.argv[2])
out.parent.mkdir(parents=True)
out.write_text(code)
EOF
(cd "$work/smoke" && "$work/venv/bin/python" -m pytest -q -p no:cacheprovider test_orders.py)
