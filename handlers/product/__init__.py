"""The product catalogue: /product routes over the product table."""
