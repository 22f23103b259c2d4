"""Serving: an HTTP API and a search page over any winnow index or pipeline (the ``serve`` extra).

``create_app`` builds the FastAPI application; ``winnow serve`` runs it with uvicorn. See
docs/serving.md.
"""

from winnow.serve.app import create_app, serve
from winnow.serve.batching import Batching
from winnow.serve.limits import Limits

__all__ = ["Batching", "Limits", "create_app", "serve"]
