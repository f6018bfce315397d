"""An external Redis is somebody's server (issue 15, 7).

Runs use the database ``--redis-url`` names, empty only databases they claimed, and
claim databases so concurrent runs and xdist workers never touch each other's data. The
"external" server here is a real redis-server; the outer test plays the other run.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from pytest_kafka_patterns.backends import redis_process
from pytest_kafka_patterns.backends.base import RedisServer
from pytest_kafka_patterns.config import RedisSettings
from pytest_kafka_patterns.errors import ConfigError
from pytest_kafka_patterns.redis_db import claim_database

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

INNER = """
import os

def test_uses_its_own_database(redis_client, redis_server):
    assert redis_client.dbsize() == 0
    redis_client.set("inner", "run")
    print("INNER-DB", redis_server.db)
"""


@pytest.fixture
def shared_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A Redis two runs share, as a CI service container would be (16 databases)."""
    running = redis_process.start_redis(
        RedisSettings(databases=16), tmp_path_factory.mktemp("shared-redis")
    )
    yield running.info
    running.stop()


def _inner(pytester: pytest.Pytester, url: str) -> pytest.RunResult:
    pytester.makepyfile(INNER)
    return pytester.runpytest_inprocess("--redis-backend=external", f"--redis-url={url}", "-s")


def _client(server: RedisServer, db: int) -> redis.Redis[bytes]:
    return redis.Redis(host=server.host, port=server.port, db=db)


def test_the_database_the_url_names_is_used_and_no_other(
    pytester: pytest.Pytester, shared_redis: RedisServer
) -> None:
    """It was: /7 ignored, db 0 flushed."""
    with _client(shared_redis, 0) as db0:
        db0.set("somebody's", "data")
    result = _inner(pytester, f"redis://127.0.0.1:{shared_redis.port}/7")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*INNER-DB 7*"])
    with _client(shared_redis, 7) as db7:
        assert db7.get("inner") == b"run"  # a database the URL names keeps the last data
    with _client(shared_redis, 0) as db0:
        assert db0.get("somebody's") == b"data"


def test_a_database_another_run_claimed_is_never_flushed(
    pytester: pytest.Pytester, shared_redis: RedisServer
) -> None:
    """Two runs on one Redis: the other run (here, this test) holds database 0."""
    other_run = claim_database(shared_redis)
    assert other_run.server.db == 0
    try:
        with _client(shared_redis, 0) as db0:
            db0.set("other run's", "data")
        result = _inner(pytester, f"redis://127.0.0.1:{shared_redis.port}")
        result.assert_outcomes(passed=1)
        result.stdout.fnmatch_lines(["*INNER-DB 1*"])
        with _client(shared_redis, 0) as db0:
            assert db0.get("other run's") == b"data"
        with _client(shared_redis, 1) as db1:
            assert db1.dbsize() == 0  # a database the run chose is left empty

        result = _inner(pytester, f"redis://127.0.0.1:{shared_redis.port}/0")
        result.assert_outcomes(errors=1)
        result.stdout.fnmatch_lines([
            "*cannot use Redis database 0 at 127.0.0.1:* that --redis-url names: claimed by "
            "*drop the /0 from the URL*"
        ])
        assert "Traceback" not in result.stdout.str()
        with _client(shared_redis, 0) as db0:
            assert db0.get("other run's") == b"data"
    finally:
        other_run.release(flush=False)


def test_a_database_with_somebodys_keys_is_skipped(
    pytester: pytest.Pytester, shared_redis: RedisServer
) -> None:
    with _client(shared_redis, 0) as db0, _client(shared_redis, 1) as db1:
        db0.set("somebody's", "data")
        db1.set("more", "data")
    result = _inner(pytester, f"redis://127.0.0.1:{shared_redis.port}")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*INNER-DB 2*"])
    with _client(shared_redis, 0) as db0:
        assert db0.get("somebody's") == b"data"


def test_no_free_database_is_a_short_clear_error(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    full = redis_process.start_redis(RedisSettings(databases=2), tmp_path)
    try:
        for db in (0, 1):
            with _client(full.info, db) as client:
                client.set("somebody's", "data")
        result = _inner(pytester, f"redis://127.0.0.1:{full.info.port}")
        result.assert_outcomes(errors=1)
        out = result.stdout.str()
        assert "no free Redis database at 127.0.0.1:" in out
        assert "holds 1 key(s) that are not this run's" in out
        assert "name one in --redis-url" in out
        assert "Traceback" not in out and len(out.splitlines()) < 40
    finally:
        full.stop()


def test_a_redis_the_run_starts_has_a_database_for_every_worker(tmp_path: Path) -> None:
    """The 65th xdist worker got a 148-line traceback: the server had 64 databases."""
    workers = 70
    running = redis_process.start_redis(RedisSettings(databases=workers), tmp_path)
    claims = []
    try:
        claims = [claim_database(running.info, prefer=index) for index in range(workers)]
        assert sorted(claim.server.db for claim in claims) == list(range(workers))
        with pytest.raises(ConfigError, match="no free Redis database"):
            claim_database(running.info)
    finally:
        for claim in claims:
            claim.release(flush=True)
        running.stop()


def test_a_bad_database_in_the_url_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = _inner(pytester, "redis://127.0.0.1:6379/seven")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*bad database 'seven' in Redis URL*a database is a number*"])


def test_two_runs_at_once_on_one_redis_never_touch_each_other(
    pytester: pytest.Pytester, shared_redis: RedisServer
) -> None:
    """Two real pytest processes, started together on one external Redis (it was: both
    on db 0, each flushing the other's keys, 5/5)."""
    import subprocess
    import sys

    test = (
        "import time\n"
        "def test_keeps_its_keys(redis_client, redis_server):\n"
        "    redis_client.set('owner', '{name}')\n"
        "    time.sleep(1.5)\n"
        "    assert redis_client.get('owner') == b'{name}' and redis_client.dbsize() == 1\n"
        "    print('DB', redis_server.db)\n"
    )
    runs = []
    for name in ("first", "second"):
        directory = pytester.mkdir(name)
        (directory / f"test_{name}.py").write_text(test.format(name=name))
        runs.append(subprocess.Popen(
            [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider",
             "-W", "ignore", "--redis-backend=external",
             f"--redis-url=redis://127.0.0.1:{shared_redis.port}", str(directory)],
            cwd=directory, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        ))
    outputs = [run.communicate(timeout=60)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    databases = {match for out in outputs for match in re.findall(r"DB (\d+)", out)}
    assert len(databases) == 2, outputs
