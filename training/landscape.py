"""The landscape: a loss grid over a 2D plane, with the training path projected on it.

This is the contract between the landscape stage and the render stage. Grid
index ``[i, j]`` is the point ``origin + alphas[i] * d1 + betas[j] * d2``.
Non-finite losses (exploding regions) are stored as NaN; ``computed`` marks
the nodes already evaluated, so an interrupted grid can resume.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lossfilm.artifact import load_npz, save_npz
from lossfilm.errors import ArtifactError

KIND = "landscape"
SCHEMA_VERSION = 1

_ARRAYS = ("alphas", "betas", "loss", "accuracy", "computed", "origin", "directions",
           "path_alpha", "path_beta", "path_loss_plane", "path_loss_true", "path_accuracy",
           "residuals", "path_steps", "path_epochs", "explained_variance")


@dataclass
class Landscape:
    """A loss surface over a plane through parameter space, and the path on it."""

    alphas: np.ndarray  # (R1,) grid coordinates along direction 1
    betas: np.ndarray  # (R2,) grid coordinates along direction 2
    loss: np.ndarray  # (R1, R2) float64, NaN where non-finite or not yet computed
    accuracy: np.ndarray  # (R1, R2) float64, NaN where unknown
    computed: np.ndarray  # (R1, R2) bool, nodes already evaluated
    origin: np.ndarray  # (P,) float32, the plane's origin in parameter space
    directions: np.ndarray  # (2, P) float32, orthonormal unit directions
    path_alpha: np.ndarray  # (T,) coordinates of each snapshot in the plane
    path_beta: np.ndarray  # (T,)
    path_loss_plane: np.ndarray  # (T,) loss at the projected point: the ball rides this
    path_loss_true: np.ndarray  # (T,) loss at the snapshot itself
    path_accuracy: np.ndarray  # (T,) accuracy at the snapshot, NaN where unknown
    residuals: np.ndarray  # (T,) distance of each snapshot from the plane
    path_steps: np.ndarray  # (T,) int64 optimizer step of each snapshot
    path_epochs: np.ndarray  # (T,) float64 epoch of each snapshot, NaN where unknown
    explained_variance: np.ndarray  # (2,) variance ratio per direction (NaN if not PCA)
    directions_kind: str = "pca"  # "pca" | "random" | "anchors"
    settings: dict = field(default_factory=dict)
    trajectory_key: str = ""
    key: str = ""

    @property
    def nonfinite(self):
        """Mask of computed nodes whose loss was NaN or inf."""
        return self.computed & ~np.isfinite(self.loss)

    def axis_label(self, axis):
        """What axis 0 or 1 is, in words: ``"PC1 (71.2% var.)"``."""
        ratio = self.explained_variance[axis]
        if self.directions_kind == "pca":
            return f"PC{axis + 1} ({100 * ratio:.1f}% var.)"
        if self.directions_kind == "random":
            return f"random direction {axis + 1}"
        return f"anchor direction {axis + 1}"

    def save(self, path):
        header = {"directions_kind": self.directions_kind, "settings": self.settings,
                  "trajectory_key": self.trajectory_key, "key": self.key}
        save_npz(path, {name: getattr(self, name) for name in _ARRAYS}, header,
                 kind=KIND, schema_version=SCHEMA_VERSION)

    @classmethod
    def load(cls, path):
        arrays, header = load_npz(path, kind=KIND, schema_version=SCHEMA_VERSION)
        missing = [name for name in _ARRAYS if name not in arrays]
        if missing:
            raise ArtifactError(f"{path}: landscape is missing arrays {missing}")
        shape = (len(arrays["alphas"]), len(arrays["betas"]))
        if arrays["loss"].shape != shape or arrays["computed"].shape != shape:
            raise ArtifactError(f"{path}: loss grid shape {arrays['loss'].shape} does not match its axes {shape}")
        try:
            return cls(**arrays, directions_kind=header["directions_kind"], settings=header["settings"],
                       trajectory_key=header["trajectory_key"], key=header["key"])
        except KeyError as exc:
            raise ArtifactError(f"{path}: landscape header is missing {exc}") from None
