"""Query side: encoder protocol and backends, embedding manipulations, the training query provider."""

from tqse.query.base import QueryEncoder
from tqse.query.registry import load_encoder

__all__ = ["QueryEncoder", "load_encoder"]
