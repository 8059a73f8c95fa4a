"""The `ecommerce` stack: settings -> components -> outputs."""

import pulumi

from components.alarms import Alarms, AlarmsArgs, WatchedQueue
from components.basket_service import BasketService, BasketServiceArgs
from components.checkout_queue import CheckoutQueue, CheckoutQueueArgs
from components.dashboard import Dashboard, DashboardArgs
from components.dependency_layer import DependencyLayer, DependencyLayerArgs
from components.event_bus import EventBus, EventBusArgs
from components.http_api import HttpApi, HttpApiArgs
from components.identity import Identity, IdentityArgs
from components.ordering_service import OrderingService, OrderingServiceArgs
from components.product_service import ProductService, ProductServiceArgs
from components.settings import Settings

settings = Settings.load()

identity = Identity("identity", IdentityArgs(settings=settings))
api = HttpApi(
    "api",
    HttpApiArgs(settings=settings, jwt_issuer=identity.issuer, jwt_audience=identity.user_pool_client_id),
)
deps = DependencyLayer("deps", DependencyLayerArgs(settings=settings))
checkout = CheckoutQueue("checkout", CheckoutQueueArgs(settings=settings))
bus = EventBus(
    "events",
    EventBusArgs(settings=settings, target_queue_arn=checkout.queue_arn, target_queue_url=checkout.queue_url),
)
product = ProductService("product", ProductServiceArgs(settings=settings, api=api.routes, layer_arn=deps.arn))
basket = BasketService(
    "basket",
    BasketServiceArgs(
        settings=settings,
        api=api.routes,
        product_table_name=product.table.name,
        product_table_arn=product.table.arn,
        event_bus_name=bus.bus_name,
        event_bus_arn=bus.bus_arn,
        layer_arn=deps.arn,
    ),
)
ordering = OrderingService(
    "ordering",
    OrderingServiceArgs(settings=settings, api=api.routes, checkout_queue_arn=checkout.queue_arn, layer_arn=deps.arn),
)
alarms = Alarms(
    "alarms",
    AlarmsArgs(
        settings=settings,
        dead_letter_queues=[
            WatchedQueue("ordering", "checkout-dlq", checkout.dlq_name),
            WatchedQueue("events", "checkout-delivery-dlq", bus.delivery_dlq_name),
        ],
        function_names={
            "product": product.function_name,
            "basket": basket.function_name,
            "ordering": ordering.function_name,
        },
        api_id=api.api_id,
    ),
)
dashboard = Dashboard(
    "dashboard",
    DashboardArgs(
        settings=settings,
        api_id=api.api_id,
        function_names={
            "product": product.function_name,
            "basket": basket.function_name,
            "ordering": ordering.function_name,
        },
        queue_name=checkout.queue.name,
        dead_letter_queue_names={"checkout DLQ": checkout.dlq_name, "delivery DLQ": bus.delivery_dlq_name},
    ),
)

pulumi.export("api_url", api.url)
pulumi.export("user_pool_id", identity.user_pool_id)
pulumi.export("user_pool_client_id", identity.user_pool_client_id)
pulumi.export("issuer", identity.issuer)
pulumi.export("product_table", product.table_name)
pulumi.export("basket_table", basket.table_name)
pulumi.export("order_table", ordering.table_name)
pulumi.export("event_bus", bus.bus_name)
pulumi.export("event_bus_arn", bus.bus_arn)
pulumi.export("event_archive", bus.archive_name)
pulumi.export("event_archive_arn", bus.archive_arn)
pulumi.export("checkout_queue_url", checkout.queue_url)
pulumi.export("checkout_dlq_url", checkout.dlq_url)
pulumi.export("product_function", product.function_name)
pulumi.export("basket_function", basket.function_name)
pulumi.export("ordering_function", ordering.function_name)
pulumi.export("alarm_topic", alarms.topic_arn)
pulumi.export("dashboard", dashboard.dashboard_name)
