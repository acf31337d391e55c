"""Streaming PCA: the top two right singular vectors of a path's offsets, read in blocks, never P x P.

``A[t] = params[t] - origin`` is a (T, P) matrix that may be a memory-mapped
trajectory of many gigabytes; ``origin`` is the final snapshot (uncentred
PCA) or the snapshots' mean (:func:`mean_row`, centred PCA, as
scikit-learn's ``PCA``). :func:`top2_gram` forms the T x T Gram
matrix (exact; for short paths), :func:`top2_randomized` runs block
subspace iteration with streamed passes over the rows (for long ones).
:func:`lossfilm.training.landscape.plane.pca_plane` picks one and makes the plane.

Examples
--------
>>> import numpy as np
>>> t = np.linspace(0, 1, 20)[:, None]
>>> params = np.hstack([t, 2 * t, 0 * t])
>>> vectors, values, total, passes = top2_gram(params, params[-1])
>>> np.round(np.abs(vectors[0]) * np.sqrt(5), 6).tolist(), round(float(values[0] / total), 6)
([1.0, 2.0, 0.0], 1.0)
"""

from __future__ import annotations

import os
import sys

import numpy as np
from tqdm import tqdm

from lossfilm.format.safe_write import scratch_folder

BLOCK_BYTES = 1 << 25  # 32 MiB of float64 per streamed block: large GEMMs, bounded memory
GRAM_MAX_SNAPSHOTS = 256  # above this the T x T Gram matrix costs more than subspace iteration
IN_MEMORY_BYTES = 1 << 28  # several paths' stacked snapshots are read into RAM below 256 MiB, else a temporary file


def top2_gram(params, origin):
    """Top-2 right singular pairs of A = params - origin via the T x T Gram matrix."""
    T = len(params)
    gram = np.zeros((T, T))
    for cols, block in column_blocks(params, origin):
        gram += block @ block.T  # (T,w)@(w,T) -> (T,T)
    if not np.isfinite(gram).all():  # eigh would fail ("did not converge"); the caller says why
        return np.zeros((2, params.shape[1])), np.zeros(2), float("nan"), 1
    values, U = np.linalg.eigh(gram)  # ascending
    values, U = values[::-1][:2].clip(min=0.0), U[:, ::-1][:, :2]
    sigma = np.sqrt(values)
    vectors = np.zeros((2, params.shape[1]))
    for cols, block in column_blocks(params, origin):
        vectors[:, cols] = U.T @ block  # (2,T)@(T,w) -> (2,w)
    vectors /= np.where(sigma > 0, sigma, 1.0)[:, None]
    return vectors, values, float(np.trace(gram)), 2


def top2_randomized(params, origin, rng, max_passes, oversample=10, progress=False):
    """Top-2 right singular pairs by block subspace iteration, one streamed pass per step.

    Each pass over the row blocks ``B`` of A computes both ``Y = A Z`` (whose
    SVD gives the Ritz estimates for the current subspace ``Z``) and
    ``A^T A Z`` (the next subspace), so no pass is wasted. Blocks stay in
    float32, as stored (no conversion pass, single-precision GEMMs: over 2x
    faster on a large trajectory); sums across blocks are float64. The
    directions come out within ~1e-6 rad of the exact ones.
    """
    T, P = params.shape
    k = min(2 + oversample, T, P)
    Z, _ = np.linalg.qr(rng.standard_normal((P, k)))  # (P,k)
    origin = np.asarray(origin, dtype=np.float32)
    rows = max(1, BLOCK_BYTES // (4 * P))
    previous, total = None, 0.0
    bar = tqdm(total=max_passes, disable=not progress, file=sys.stderr, unit="pass", desc="PCA passes (at most)",
               dynamic_ncols=True)
    for passes in range(1, max_passes + 1):
        bar.update(1)
        Y = np.empty((T, k))
        ZZ = np.zeros((P, k))
        Z32 = Z.astype(np.float32)
        for start in range(0, T, rows):
            block = np.subtract(params[start:start + rows], origin, dtype=np.float32)  # (b,P)
            if passes == 1:
                total += float(np.einsum("ij,ij->", block, block, dtype=np.float64))
            y = block @ Z32  # (b,P)@(P,k) -> (b,k)
            Y[start:start + len(block)] = y
            ZZ += block.T @ y  # (P,b)@(b,k) -> (P,k)
        if not np.isfinite(total):
            bar.close()
            return np.zeros((2, P)), np.zeros(2), total, passes
        _, sigma, Wt = np.linalg.svd(Y, full_matrices=False)
        vectors = Wt[:2] @ Z.T  # (2,k)@(k,P) -> (2,P) Ritz vectors
        if previous is not None and sigma[1] > 0:
            cosines = np.abs(np.einsum("ij,ij->i", vectors, previous))
            if cosines.min() > 1.0 - 1e-10:  # angle < 1.4e-5 rad
                break
        previous = vectors
        Z, _ = np.linalg.qr(ZZ)
    bar.close()
    values = np.zeros(2)
    values[:min(2, len(sigma))] = sigma[:2] ** 2
    return vectors, values, total, passes


def mean_row(params):
    """The mean of the rows of ``params`` (P,) float64, streamed in row blocks."""
    total = np.zeros(params.shape[1])
    for _, block in row_blocks(params):
        total += block.sum(axis=0)
    return total / len(params)


def row_blocks(params):
    """Yield ``(start, rows as float64 copy)`` over ``params`` in bounded blocks."""
    rows = max(1, BLOCK_BYTES // (8 * params.shape[1]))
    for start in range(0, len(params), rows):
        yield start, np.array(params[start:start + rows], dtype=np.float64)


def column_blocks(params, origin):
    """Yield ``(column slice, offsets block (T, w) float64)``; reads each row in contiguous runs."""
    T, P = params.shape
    width = max(1, BLOCK_BYTES // (8 * T))
    for start in range(0, P, width):
        cols = slice(start, min(P, start + width))
        yield cols, np.asarray(params[:, cols], dtype=np.float64) - origin[cols]


class stacked_rows:
    """Several paths' snapshots and then one more row, as one (T, P) float32 array for a PCA to stream.

    In memory below :data:`IN_MEMORY_BYTES`, else a temporary memmap in a
    private folder beside the first trajectory's file (or in
    ``$LOSSFILM_TMPDIR``), removed when the ``with`` block ends. A race puts its shared start last,
    so that :func:`lossfilm.training.landscape.plane.pca_plane` takes it as the origin.
    """

    def __init__(self, trajectories, last):
        self.trajectories, self.start = trajectories, last
        self.rows = sum(len(t) for t in trajectories) + 1
        self.tmp = None

    def __enter__(self):
        P = self.start.size
        if self.rows * P * 4 <= IN_MEMORY_BYTES:
            return np.concatenate([np.asarray(t.params, dtype=np.float32) for t in self.trajectories]
                                  + [self.start[None]])
        # Gigabytes of rows: beside the first trajectory's file (or in $LOSSFILM_TMPDIR), never in a system
        # temp folder that may be RAM-backed.
        self.tmp = scratch_folder(getattr(self.trajectories[0].params, "filename", None))
        rows = np.lib.format.open_memmap(os.path.join(self.tmp.path, "rows.npy"), mode="w+", dtype=np.float32,
                                         shape=(self.rows, P))
        at = 0
        for t in self.trajectories:
            for s in range(0, len(t), 4096):
                block = np.asarray(t.params[s:s + 4096], dtype=np.float32)
                rows[at:at + len(block)] = block
                at += len(block)
        rows[at] = self.start
        rows.flush()
        return rows

    def __exit__(self, *exc):
        if self.tmp is not None:
            self.tmp.remove()
