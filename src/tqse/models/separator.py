"""What a model folder holds: a separator and the query projection it was trained with, as one module.

The seed paper's PCA and PCA-inv (Sec. II-C) are not training-only augmentations: the same projection is
applied to every query at inference too, so it is part of the model. :class:`Separator` owns it as the
``query_transform`` submodule (weights ``query_transform.*`` beside ``separator.*``) and reports the plain
data that rebuilds it (:meth:`Separator.model_args`), so saving, loading and resuming are
``state_dict`` / ``load_state_dict`` of one module. It takes queries in the encoder's space.
"""

from __future__ import annotations

from typing import Any

import torch

FORMAT = 2  # model folders before it stored the bare separator's keys (see model_dir.upgrade_state)
TRANSFORM_KINDS = ("pca", "pca_inv")


class PCAProjection(torch.nn.Module):
    """PCA fitted on text embeddings; ``inverse=True`` maps back to ``D`` dims (the paper's PCA-inv).

    Shape:
        forward: ``[B, D]`` -> ``[B, dim]`` (PCA) or ``[B, D]`` (PCA-inv).
    """

    def __init__(self, mean: torch.Tensor, components: torch.Tensor, inverse: bool = False):
        super().__init__()
        self.register_buffer("mean", mean.float())
        self.register_buffer("components", components.float())  # [dim, D], orthonormal rows
        self.inverse = inverse

    @classmethod
    def fit(cls, embeddings: torch.Tensor, dim: int, inverse: bool = False) -> "PCAProjection":
        """Fit on ``[N, D]`` embeddings (the paper uses N = 1000 text embeddings, ``dim = 16``)."""
        if embeddings.shape[0] < dim:
            raise ValueError(f"PCA to {dim} dims needs at least {dim} embeddings, got {embeddings.shape[0]}")
        mean = embeddings.double().mean(0)
        _, _, vh = torch.linalg.svd(embeddings.double() - mean, full_matrices=False)
        # Row-major like the copy a model folder loads: LAPACK's column-major rows would take another matmul
        # path, and the saved model would differ from the trained one at float precision.
        return cls(mean, vh[:dim].contiguous(), inverse)

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> "PCAProjection":
        """An unfitted projection of the shape ``spec`` names (its buffers are loaded afterwards)."""
        if spec.get("kind") not in TRANSFORM_KINDS:
            raise ValueError(f"unknown query transform kind {spec.get('kind')!r} (known: {', '.join(TRANSFORM_KINDS)})")
        dim, in_dim = int(spec["dim"]), int(spec["in_dim"])
        return cls(torch.zeros(in_dim), torch.zeros(dim, in_dim), inverse=spec["kind"] == "pca_inv")

    def spec(self) -> dict[str, Any]:
        return {"kind": "pca_inv" if self.inverse else "pca", "dim": self.components.shape[0], "in_dim": self.in_dim}

    @property
    def in_dim(self) -> int:
        return self.components.shape[1]

    @property
    def out_dim(self) -> int:
        return self.components.shape[1] if self.inverse else self.components.shape[0]

    def forward(self, q: torch.Tensor) -> torch.Tensor:
        with torch.autocast(q.device.type, enabled=False):  # a projection of unit vectors: float32 always
            z = (q.float() - self.mean) @ self.components.T
            return z @ self.components + self.mean if self.inverse else z


class Separator(torch.nn.Module):
    """A separator built by name (:data:`tqse.models.MODELS`) behind its optional query projection.

    Args:
        model: model or preset name; ``kwargs``: its constructor arguments (plain data).
        query_transform: ``{"kind": "pca" | "pca_inv", "dim", "in_dim"}`` or None.
    Shape:
        forward: ``(mixture [B, T], query [B, D])`` -> estimate ``[B, T]``, ``D`` = :attr:`query_dim`.
    """

    def __init__(self, model: str, kwargs: dict[str, Any], query_transform: dict[str, Any] | None = None):
        from tqse.models import build_model

        super().__init__()
        self.name, self.kwargs = model, dict(kwargs)
        self.separator = build_model(model, **kwargs)
        self.query_transform = PCAProjection.from_spec(query_transform) if query_transform else None

    @classmethod
    def around(cls, model: str, kwargs: dict[str, Any], transform: PCAProjection | None) -> "Separator":
        """A new separator behind an already fitted projection (training)."""
        separator = cls(model, kwargs, transform.spec() if transform is not None else None)
        if transform is not None:
            separator.query_transform.load_state_dict(transform.state_dict())
        return separator

    def model_args(self) -> dict[str, Any]:
        """The plain data that rebuilds this module: ``Separator(**args without "format")``."""
        args: dict[str, Any] = {"format": FORMAT, "model": self.name, "kwargs": self.kwargs}
        if self.query_transform is not None:
            args["query_transform"] = self.query_transform.spec()
        return args

    @property
    def query_dim(self) -> int:
        """Dimensions of the queries :meth:`forward` takes (the encoder's, before any projection)."""
        if self.query_transform is not None:
            return self.query_transform.in_dim
        return self.separator.query_dim

    def forward(self, mixture: torch.Tensor, query: torch.Tensor) -> torch.Tensor:
        if self.query_transform is not None:
            query = self.query_transform(query)
        return self.separator(mixture, query)
