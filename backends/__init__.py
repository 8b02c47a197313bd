"""Server backends: one module per concurrency model, each driving the same sans-I/O core."""
