"""Order events shaped like the guide's Order, Inventory and DLQ examples (factory-boy + Faker).

Every factory's ``.build()`` returns a plain, JSON-ready dict. Events use the envelope
``{event_type, event_id, timestamp, data}``. All randomness (uuid4 ``event_id``\\ s and
timestamps included) comes from factory-boy's seeded random, so
``factory.random.reseed_random(seed)`` (done by the plugin before each test, see
``--kafka-patterns-seed``) makes a test's events reproducible.

Traits:

* ``OrderItemFactory(out_of_stock=True)`` -- a product with no stock (``prod_3``, as
  in the guide's inventory); ``OrderFactory(out_of_stock=True)`` includes one.
* ``OrderCreatedEventFactory(user_id="user_1")`` -- an order for a given user.
* ``OrderCreatedEventFactory(poison=True)`` -- an order a handler will reject: its data
  lacks ``items`` and ``total`` (``KeyError`` in the guide's consumers).
* :func:`order_history` -- created -> confirmed -> shipped for one order, in order.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from . import extras, seeding

try:  # the [events] extra
    import factory.random
    import faker
    from factory import declarations
    from factory.base import DictFactory
except ModuleNotFoundError:
    extras.require("events", "pytest_kafka_patterns.factories")
    raise

# factory-boy (and Faker) may be imported only now, after the plugin seeded the test:
# give them that seed, as if they had been imported when it was set.
seeding.seed_late_imports()

#: Products the guide's inventory service has in stock (``prod_1``: 100, ``prod_2``: 50).
IN_STOCK_PRODUCTS = {"prod_1": "Widget", "prod_2": "Gadget"}
#: A product the guide's inventory service has none of.
OUT_OF_STOCK_PRODUCT = ("prod_3", "Doohickey")
#: Order statuses after ``pending``, in lifecycle order.
STATUSES = ("pending", "confirmed", "shipped", "delivered", "cancelled")
#: Event timestamps fall in this window (fixed, so a seed reproduces them at any date).
EPOCH = datetime(2025, 1, 1)
WINDOW_SECONDS = 365 * 24 * 3600


def _lazy(function: Callable[[], Any]) -> Any:
    return declarations.LazyFunction(function)  # type: ignore[no-untyped-call]


def _lazy_attr(function: Callable[[Any], Any]) -> Any:
    return declarations.LazyAttribute(function)  # type: ignore[no-untyped-call]


def _outer(name: str) -> Any:
    """The enclosing factory's ``name`` (for a SubFactory's arguments)."""
    return declarations.SelfAttribute(".." + name)  # type: ignore[no-untyped-call]


def _trait(**overrides: Any) -> Any:
    return declarations.Trait(**overrides)  # type: ignore[no-untyped-call]


def _sub(factory_class: type[Any], **overrides: Any) -> Any:
    return declarations.SubFactory(factory_class, **overrides)  # type: ignore[no-untyped-call]


#: A Faker bound to factory-boy's random: one seeded stream feeds every draw below.
fake = faker.Faker()
fake.random = factory.random.randgen  # type: ignore[attr-defined]


def _rng() -> Any:
    return factory.random.randgen


def event_uuid() -> str:
    """A uuid4 string drawn from the seeded random (never ``uuid.uuid4()``)."""
    return str(fake.uuid4())


def new_order_id() -> str:
    """``order_`` + 8 hex digits, as the Order Service makes them."""
    return "order_" + fake.hexify("^^^^^^^^")


def new_user_id() -> str:
    """``user_`` + 3 digits, as in the guide (``user_123``)."""
    return fake.numerify("user_###")


def timestamp() -> str:
    """A naive-UTC ISO-8601 timestamp (as the guide's ``datetime.utcnow().isoformat()``)."""
    moment = fake.date_time_between_dates(EPOCH, EPOCH + timedelta(seconds=WINDOW_SECONDS))
    return str(moment.replace(tzinfo=None).isoformat())


def later(iso: str) -> str:
    """A timestamp 1 s to 1 h after ``iso``."""
    step = timedelta(seconds=_rng().randint(1, 3600), microseconds=_rng().randrange(10**6))
    return (datetime.fromisoformat(iso) + step).isoformat()


def order_total(items: list[dict[str, Any]]) -> float:
    """Sum of price x quantity, rounded to cents (computed in Decimal, no float drift)."""
    total = sum((Decimal(str(item["price"])) * int(item["quantity"]) for item in items), Decimal())
    return float(total.quantize(Decimal("0.01")))


class OrderItemFactory(DictFactory):
    """``{product_id, name, price, quantity}``, in stock unless ``out_of_stock=True``."""

    class Params:
        out_of_stock = _trait(
            product_id=OUT_OF_STOCK_PRODUCT[0], name=OUT_OF_STOCK_PRODUCT[1]
        )

    product_id = _lazy(lambda: _rng().choice(sorted(IN_STOCK_PRODUCTS)))
    name = _lazy_attr(lambda item: IN_STOCK_PRODUCTS.get(item.product_id, "Thing"))
    price = _lazy(lambda: _rng().randint(100, 20000) / 100)
    quantity = _lazy(lambda: _rng().randint(1, 5))


def _items(order: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = [
        OrderItemFactory.build() for _ in range(order.item_count)
    ]
    if order.out_of_stock:
        items[-1] = OrderItemFactory.build(out_of_stock=True)
    return items


class OrderFactory(DictFactory):
    """``{order_id, user_id, items, total, status, created_at}`` as the Order Service makes.

    ``total`` is computed from ``items`` (pass ``items=[...]`` and it follows).
    Params: ``item_count`` (1-3 by default), ``out_of_stock`` (last item has no stock).
    """

    class Params:
        item_count = _lazy(lambda: _rng().randint(1, 3))
        out_of_stock = False

    order_id = _lazy(new_order_id)
    user_id = _lazy(new_user_id)
    items = _lazy_attr(_items)
    total = _lazy_attr(lambda order: order_total(order.items))
    status = "pending"
    created_at = _lazy(timestamp)


class EventFactory(DictFactory):
    """The envelope: ``{event_type, event_id, timestamp, data}``."""

    event_type = "event"
    event_id = _lazy(event_uuid)
    timestamp = _lazy(timestamp)
    data = _lazy(dict)


class OrderCreatedEventFactory(EventFactory):
    """``order.created`` with an order as ``data``; its timestamp is the order's ``created_at``.

    Params: ``user_id`` (the order's user), ``out_of_stock``, ``poison`` (data without
    ``items``/``total``, which a handler rejects).
    """

    class Params:
        user_id = _lazy(new_user_id)
        out_of_stock = False
        poison = _trait(
            data=_lazy_attr(
                lambda event: {
                    key: value
                    for key, value in OrderFactory.build(user_id=event.user_id).items()
                    if key not in ("items", "total")
                }
            )
        )

    event_type = "order.created"
    data = _sub(
        OrderFactory,
        user_id=_outer("user_id"),
        out_of_stock=_outer("out_of_stock"),
    )
    timestamp = _lazy_attr(lambda event: event.data["created_at"])


class OrderStatusChangedEventFactory(EventFactory):
    """``order.status_changed`` with data ``{order_id, status, updated_at}``.

    Params: ``order`` (an order dict or order.created event to take ``order_id`` from),
    ``status`` (default ``confirmed``).
    """

    class Params:
        order = None
        status = "confirmed"

    event_type = "order.status_changed"
    data = _lazy_attr(
        lambda event: {
            "order_id": _order_id(event.order),
            "status": event.status,
            "updated_at": _after_order(event.order),
        }
    )
    timestamp = _lazy_attr(lambda event: event.data["updated_at"])


def _after_order(order: Any) -> str:
    data = order.get("data", order) if order is not None else {}
    return later(data["created_at"]) if "created_at" in data else timestamp()


def _order_id(order: Any) -> str:
    if order is None:
        return new_order_id()
    data = order.get("data", order)
    return str(data["order_id"])


class InventoryResultEventFactory(EventFactory):
    """``inventory.reserved`` / ``inventory.failed`` with data ``{order_id, success}``.

    Params: ``success`` (default True), ``order`` (order dict or event for ``order_id``).
    """

    class Params:
        success = True
        order = None

    event_type = _lazy_attr(
        lambda event: "inventory.reserved" if event.success else "inventory.failed"
    )
    data = _lazy_attr(
        lambda event: {"order_id": _order_id(event.order), "success": bool(event.success)}
    )


class InventoryReservedEventFactory(InventoryResultEventFactory):
    """``inventory.reserved`` (success)."""

    class Params:
        success = True


class InventoryFailedEventFactory(InventoryResultEventFactory):
    """``inventory.failed`` (e.g. an out-of-stock item)."""

    class Params:
        success = False


def order_history(
    user_id: str | None = None,
    statuses: tuple[str, ...] | list[str] = ("confirmed", "shipped"),
    **order_fields: Any,
) -> list[dict[str, Any]]:
    """One order's events in produce order: ``order.created`` then one
    ``order.status_changed`` per status, each timestamp later than the previous.

    Produce them all with the same key (e.g. ``user_id``) to keep them in one partition.
    ``order_fields`` go to :class:`OrderFactory` (``items=...``, ``out_of_stock=True``).
    """
    if user_id is not None:
        order_fields["user_id"] = user_id
    created = OrderCreatedEventFactory.build(data=OrderFactory.build(**order_fields))
    events: list[dict[str, Any]] = [created]
    when = created["timestamp"]
    for status in statuses:
        when = later(when)
        events.append(
            OrderStatusChangedEventFactory.build(
                data={"order_id": created["data"]["order_id"], "status": status, "updated_at": when}
            )
        )
    return events


def dlq_entry(
    event: dict[str, Any], error: str = "handler rejected the event", retry_count: int = 3
) -> dict[str, Any]:
    """What the guide's ``ResilientConsumer`` writes to ``<topic>.dlq`` for ``event``:
    the event plus ``_retry_count``, ``_error`` and ``_traceback``."""
    return {
        **event,
        "_retry_count": retry_count,
        "_error": error,
        "_traceback": f"Traceback (most recent call last):\n  ...\nException: {error}\n",
    }


__all__ = [
    "IN_STOCK_PRODUCTS",
    "OUT_OF_STOCK_PRODUCT",
    "EventFactory",
    "InventoryFailedEventFactory",
    "InventoryReservedEventFactory",
    "InventoryResultEventFactory",
    "OrderCreatedEventFactory",
    "OrderFactory",
    "OrderItemFactory",
    "OrderStatusChangedEventFactory",
    "dlq_entry",
    "event_uuid",
    "fake",
    "new_order_id",
    "new_user_id",
    "order_history",
    "order_total",
]
