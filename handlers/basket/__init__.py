"""Baskets and checkout: /basket routes over the basket table, pricing from the product table."""

from handlers.shared import coldstart

coldstart.service(__name__)
