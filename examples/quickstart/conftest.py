"""Nothing to declare: installing pytest-kafka-patterns registers its fixtures.

A project that wants a second broker (say, with other settings) adds one line here::

    from pytest_kafka_patterns import kafka_broker_fixture
    analytics_broker = kafka_broker_fixture(backend="embedded")
"""
