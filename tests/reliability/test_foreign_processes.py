"""Our supervision never reaches, or is reached by, another run's processes."""

from __future__ import annotations

from pathlib import Path

import psutil
from mirakuru.base_env import processes_with_env

from pytest_kafka_patterns.process import start_process, supervision_mark


def test_the_supervision_mark_holds_no_digit() -> None:
    marks = {supervision_mark() for _ in range(200)}
    assert len(marks) == 200
    assert not any(ch.isdigit() for mark in marks for ch in mark)


def test_no_exiting_pid_matches_our_server(tmp_path: Path) -> None:
    """mirakuru's atexit hook kills processes whose mark *contains* the exiting pid.

    Before the fix our mark was ``"<pid>:<uuid4>"``: every digit string in it (our own
    pid, any pid that is a substring of it, digits of the uuid) named a process whose
    exit SIGKILLed our server. Now no pid string matches it.
    """
    process, _ = start_process(
        "sleeper", ["sleep", "30"], ready=lambda: True, workdir=tmp_path, timeout=5
    )
    try:
        mark = psutil.Process(process.pid).environ()["mirakuru_uuid"]
        candidates = {str(n) for n in range(10)} | {str(psutil.Process().pid)}
        for pid_text in candidates:
            assert process.pid not in processes_with_env("mirakuru_uuid", pid_text), (
                f"an exiting pid {pid_text} would SIGKILL our server (mark {mark!r})"
            )
    finally:
        process.stop()
