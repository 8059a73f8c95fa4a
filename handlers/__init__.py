"""Lambda code of the three services. Each function's archive holds this package, `shared` and its own service."""
