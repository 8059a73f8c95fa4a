"""The names and limits that the handlers and the program share, stated once.

The handlers validate requests, baskets and the CheckoutBasket event with these numbers, and the Pulumi
program's event rule matches on these names (`components.event_bus` imports this module, so it imports
nothing beyond the standard library). A basket the API accepts must always become an order: the limits of
a line, of a basket and of the event are the same numbers, and the largest total they allow fits the event.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

EVENT_SOURCE: Final = "ecommerce.basket"
CHECKOUT_DETAIL_TYPE: Final = "CheckoutBasket"
SCHEMA_VERSION: Final = 1
# The epoch second after which DynamoDB's TTL removes the marker a checkout leaves in place of the basket.
BASKET_EXPIRY_ATTRIBUTE: Final = "expiresAt"

# Identity: the pool group whose members are admins, and the only routes callable without a token. The program
# puts the JWT authorizer on every other route; the handlers enforce who may do what (handlers.shared.auth).
ADMIN_GROUP: Final = "admin"
PUBLIC_ROUTES: Final = frozenset({"GET /product", "GET /product/{id}"})

MAX_LINES: Final = 50  # lines per basket (after merging lines of the same product and colour)
MAX_QUANTITY: Final = 99  # units per line
MONEY_DECIMALS: Final = 2
UNIT_PRICE_DIGITS: Final = 9  # a unit price is at most 9,999,999.99
MAX_UNIT_PRICE: Final = Decimal(10) ** (UNIT_PRICE_DIGITS - MONEY_DECIMALS) - Decimal("0.01")
# The largest basket: MAX_LINES lines of MAX_QUANTITY units at MAX_UNIT_PRICE = 49,499,999,950.50, 13 digits.
# 13 significant digits is also what the JSON writer prints exactly (handlers.shared.jsonio): keep both in step.
MAX_TOTAL: Final = MAX_UNIT_PRICE * MAX_QUANTITY * MAX_LINES
TOTAL_DIGITS: Final = len(MAX_TOTAL.as_tuple().digits)

# Business metrics (CloudWatch embedded metric format, handlers.shared.metrics): the namespace and names the
# functions publish under, which the program's order-lag alarm and dashboard read. Dimensions: service, stack
# (and reason, for refusals), so a metric has a handful of series, never one per user or checkout.
METRICS_NAMESPACE: Final = "ecommerce"
METRIC_ORDERS_PLACED: Final = "OrdersPlaced"
METRIC_CHECKOUTS_ACCEPTED: Final = "CheckoutsAccepted"
METRIC_CHECKOUT_VALUE: Final = "CheckoutValue"
METRIC_CHECKOUTS_REFUSED: Final = "CheckoutsRefused"
METRIC_ORDER_LAG: Final = "OrderLagMs"  # order written - checkedOutAt, in milliseconds
STACK_ENV: Final = "STACK_NAME"  # the functions' environment variable naming their stack (the `stack` dimension)
