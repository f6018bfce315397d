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

# The wheel alone, no extra: a working broker (fixtures, clients, reading, assertions);
# a fixture that needs an extra fails its set-up naming that extra and its pip line.
mkdir "$work/broker-only"
cat >"$work/broker-only/test_broker_only.py" <<'PY'
from pytest_kafka_patterns import assert_delivered, assert_ordered_by_key


def test_broker(kafka_bootstrap_servers, kafka_topic, kafka_producer, kafka_consumer_factory,
                kafka_read):
    for n in range(3):
        kafka_producer.send(kafka_topic, key="k", value={"event_id": f"e{n}", "n": n})
    kafka_producer.flush()
    records = kafka_read(kafka_topic, min_records=3)
    assert_delivered(records, ["e0", "e1", "e2"])
    assert_ordered_by_key(records, seq_of=lambda value: value["n"])
    assert next(iter(kafka_consumer_factory(kafka_topic))).value["n"] == 0


def test_needs_redis(redis_client):
    pass


def test_needs_events(order_event_factory):
    pass
PY
set +e
(cd "$work/broker-only" && "$work/venv/bin/python" -m pytest -q -p no:cacheprovider -rfE \
    test_broker_only.py) >"$work/broker-only.log" 2>&1
set -e
"$work/venv/bin/python" - "$work/broker-only.log" <<'PY'
import sys
log = open(sys.argv[1]).read()
wanted = [
    "1 passed, 2 errors",
    "redis_client fixture needs the [redis] extra",
    "pip install 'pytest-kafka-patterns[redis]'",
    "order_event_factory fixture needs the [events] extra",
    "pip install 'pytest-kafka-patterns[events]'",
]
missing = [text for text in wanted if text not in log]
if missing or "Traceback" in log:
    sys.exit(f"broker-only install: expected {missing or 'no traceback'} in:\n{log}")
PY
echo "broker-only install: the broker fixtures pass; redis and events fixtures name their extra"

# The README example below uses redis_client: add that extra, as its install line says.
"$work/venv/bin/python" -m pip install --quiet "$wheel[redis]"

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
