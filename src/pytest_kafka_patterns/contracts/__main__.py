"""``python -m pytest_kafka_patterns.contracts module:callable``: run a consumer runner
(see :mod:`.runner`)."""

from .runner import main

main()
