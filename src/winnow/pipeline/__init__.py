"""Pipelines: retrievers composed with ``>>``, ``%`` and fusion, written as text or in Python,
tuned on judgements and saved as folders that open like an index."""
