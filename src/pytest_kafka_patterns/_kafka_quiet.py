"""Import kafka-python without the warnings it raises while importing.

kafka-python 3 loads each protocol schema at import time with
``importlib.resources.read_text``, deprecated since Python 3.11: 109 ``read_text is
deprecated`` warnings from ``kafka.protocol.schemas.load_json``, plus 109 ``open_text is
deprecated`` that ``read_text`` itself raises from ``importlib.resources._legacy``. pytest
records warnings raised while it imports plugins, so every user run listed 218 of them
(and 218 more per xdist worker). :func:`import_kafka` imports kafka with exactly those
two warnings ignored (message, category and module), so no other warning is lost and no
filter outlives the import. The package calls it before the first module that uses
kafka-python, which is no longer at plugin import: a run that uses no Kafka fixture does
not import kafka-python at all (issue 14).
"""

from __future__ import annotations

import sys
import warnings

#: (message regex, module regex) of each warning ignored while kafka-python imports.
KAFKA_IMPORT_WARNINGS = (
    ("read_text is deprecated", r"kafka\.protocol\.schemas\.load_json"),
    ("open_text is deprecated", r"importlib\.resources\._legacy"),
)


def import_kafka() -> None:
    """Import ``kafka`` and ``kafka.admin`` (once) with their import warnings ignored."""
    if "kafka.admin" in sys.modules:
        return
    with warnings.catch_warnings():
        for message, module in KAFKA_IMPORT_WARNINGS:
            warnings.filterwarnings(
                "ignore", message=message, category=DeprecationWarning, module=module)
        import kafka
        import kafka.admin  # noqa: F401
