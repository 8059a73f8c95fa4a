"""Orders: the CheckoutBasket consumer (SQS batches) and the /order routes."""

from handlers.shared import coldstart

coldstart.service(__name__)
