"""Orders: the CheckoutBasket consumer (SQS batches) and the /order routes."""
