"""The guide's FastAPI example ("Async Kafka with asyncio"), done right.

* The producer starts and stops in a ``lifespan`` (not the deprecated ``on_event``), so a
  broker that is unreachable at start-up stops the app from starting at all.
* ``POST /orders`` validates the order (pydantic), computes the total, publishes an
  ``order.created`` event ``{event_type, event_id, timestamp, data}`` keyed by
  ``order_id`` (:data:`ORDER_EVENT_KEY_FIELD`) and answers only once Kafka acknowledged it.
* It returns the ``order_id`` it generated (the guide returns ``order['id']``, a field
  its own payload does not have: a ``KeyError``, i.e. a 500 on every request).
* A publish that fails or times out (the producer's ``request_timeout_ms``) answers 503
  with a message and ``Retry-After``, not a 500 traceback. A 503 means "not confirmed":
  a request that timed out may still have been written, so consumers deduplicate by
  ``event_id`` / ``order_id``.

Run it with uvicorn (``pip install uvicorn``):
``python -m examples.order_system.web --bootstrap-servers 127.0.0.1:9092 --port 8000``
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any, Literal

from aiokafka.errors import KafkaError
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel, Field

from .async_service import AsyncKafkaService
from .runtime import (
    ORDERS_TOPIC,
    Connection,
    cli_arguments,
    connection_from_args,
)

#: Order events are keyed by this field of the order, so all events of one order
#: (created, status changes) share a partition and keep their order.
ORDER_EVENT_KEY_FIELD = "order_id"
#: Seconds a client should wait before retrying after a 503.
RETRY_AFTER_SECONDS = 5


class OrderItem(BaseModel):
    product_id: str = Field(min_length=1)
    name: str
    price: Decimal = Field(ge=0, max_digits=12, decimal_places=2)
    quantity: int = Field(gt=0)


class NewOrder(BaseModel):
    user_id: str = Field(min_length=1)
    items: list[OrderItem] = Field(min_length=1)


class OrderAccepted(BaseModel):
    status: Literal["created"] = "created"
    order_id: str


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat()


def build_order(new_order: NewOrder) -> dict[str, Any]:
    """The order as the Order Service makes it; ``total`` in exact cents (no float drift)."""
    total = sum((item.price * item.quantity for item in new_order.items), Decimal())
    return {
        "order_id": f"order_{uuid.uuid4().hex[:8]}",
        "user_id": new_order.user_id,
        "items": [
            {**item.model_dump(), "price": float(item.price)} for item in new_order.items
        ],
        "total": float(total.quantize(Decimal("0.01"))),
        "status": "pending",
        "created_at": now_iso(),
    }


def order_created_event(order: dict[str, Any]) -> dict[str, Any]:
    return {
        "event_type": "order.created",
        "event_id": str(uuid.uuid4()),
        "timestamp": now_iso(),
        "data": order,
    }


def create_app(connection: Connection | None = None, topic: str = ORDERS_TOPIC) -> FastAPI:
    """The orders API, publishing to ``topic`` on ``connection``'s brokers."""
    kafka = AsyncKafkaService(connection or Connection())

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await kafka.start()
        try:
            yield
        finally:
            await kafka.stop()

    app = FastAPI(title="Orders", lifespan=lifespan)

    @app.post("/orders", status_code=201, response_model=OrderAccepted)
    async def create_order(new_order: NewOrder) -> OrderAccepted:
        order = build_order(new_order)
        # In a real app: save the order and the event in one DB transaction (outbox).
        try:
            await kafka.publish(topic, order_created_event(order),
                                key=order[ORDER_EVENT_KEY_FIELD])
        except KafkaError as exc:
            raise HTTPException(
                status_code=503,
                detail=(f"Order not created: Kafka did not confirm the order.created event "
                        f"({type(exc).__name__}). Please retry later."),
                headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            ) from exc
        return OrderAccepted(order_id=order["order_id"])

    return app


def main(argv: list[str] | None = None) -> None:
    parser = cli_arguments("The orders HTTP API (FastAPI + aiokafka).")
    parser.add_argument("--topic", default=ORDERS_TOPIC)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    try:
        import uvicorn  # type: ignore[import-not-found]
    except ImportError:
        raise SystemExit("The web app needs an ASGI server: pip install uvicorn") from None
    connection = connection_from_args(args)
    print(f"Orders API on http://{args.host}:{args.port}/orders -> topic {args.topic!r}")
    uvicorn.run(create_app(connection, args.topic), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
