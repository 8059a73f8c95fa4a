"""The product catalogue: /product routes over the product table."""

from handlers.shared import coldstart

coldstart.service(__name__)
