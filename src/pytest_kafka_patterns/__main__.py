"""``python -m pytest_kafka_patterns up``: the same as the ``kafka-patterns`` command."""

from .cli import main

raise SystemExit(main())
