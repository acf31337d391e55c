"""The top eigenpairs of a Hessian known only through products ``H v``: Lanczos with full re-orthogonalisation.

Lanczos builds an orthonormal basis of the Krylov space of a seeded start
vector, one product per step, and reads eigenvalue estimates (Ritz values)
off the small tridiagonal matrix it makes. Its extreme Ritz values converge
first, much faster than power iteration with deflation (which needs a fresh
run per eigenvector and stalls when the top two are close). Every new basis
vector is orthogonalised against all earlier ones (twice: "twice is
enough"), so no ghost copies of converged eigenvalues appear; the basis
costs ``iterations x P`` float64.

Convergence is judged by the residual ``|H v - lambda v|`` of each wanted
Ritz pair, which Lanczos gives for free (``beta_k * |last entry of the Ritz
vector|``), relative to the largest |Ritz value|: ``tol = 1e-3`` leaves the
eigenvalues themselves far more accurate than that (their error is about
residual^2 / gap).

Examples
--------
>>> import numpy as np
>>> H = np.diag([5.0, -7.0, 2.0, 1.0, 0.5])
>>> pairs = top_eigenpairs(lambda v: H @ v, 5, k=2)
>>> pairs.values.round(6).tolist(), pairs.converged
([-7.0, 5.0], True)
>>> top_eigenpairs(lambda v: H @ v, 5, k=1, which="largest").values.round(6).tolist()
[5.0]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lossfilm.format.errors import ConfigError, DataError

WHICH = ("magnitude", "largest")
MAX_ITERATIONS = 100  # Lanczos steps at most: one Hessian-vector product each


@dataclass(frozen=True)
class Eigenpairs:
    """The wanted eigenpairs and how far they converged.

    Attributes
    ----------
    values : ndarray, shape (k,)
        Eigenvalue estimates, in the order asked for (largest |value| first,
        or largest first).
    vectors : ndarray, shape (k, P)
        Unit eigenvector estimates, float64.
    residuals : ndarray, shape (k,)
        ``|H v - lambda v|`` of each pair, relative to the largest |Ritz value|.
    iterations : int
        Hessian-vector products spent.
    converged : bool
        Every residual is within the tolerance asked for.
    """

    values: np.ndarray
    vectors: np.ndarray
    residuals: np.ndarray
    iterations: int
    converged: bool

    def record(self):
        """JSON-able account: eigenvalues, residuals, products, converged."""
        return {"eigenvalues": [float(v) for v in self.values],
                "residuals": [float(r) for r in self.residuals],
                "iterations": int(self.iterations), "converged": bool(self.converged)}


def top_eigenpairs(hvp, size, *, k=2, tol=1e-3, which="magnitude", seed=0, start=None,
                   max_iterations=MAX_ITERATIONS):
    """The ``k`` extreme eigenpairs of the symmetric operator ``hvp`` by Lanczos.

    Parameters
    ----------
    hvp : callable
        ``hvp(v) -> H v`` for ``v`` of shape (size,).
    size : int
        P, the number of parameters.
    k : int
        How many eigenpairs.
    tol : float
        Relative residual at which a pair counts as converged.
    which : {"magnitude", "largest"}
        The largest |eigenvalues| (the directions of strongest curvature, as
        power iteration finds them; a saddle's negative curvature can be
        among them), or the largest eigenvalues (the sharpness
        lambda_max of Cohen et al. 2021).
    seed : int
        Seeds the start vector: the same seed gives the same result.
    start : array_like, shape (size,), optional
        The start vector instead (e.g. the eigenvector found at a nearby
        point: a warm start converges in fewer products).
    max_iterations : int
        Most products; the result says whether it converged before.

    Returns
    -------
    Eigenpairs
    """
    if which not in WHICH:
        raise ConfigError(f"which={which!r}: choose one of {', '.join(WHICH)}")
    size, k = int(size), int(k)
    if not 1 <= k <= size:
        raise ConfigError(f"k={k}: need 1 <= k <= {size} (the number of parameters)")
    limit = max(k, min(size, int(max_iterations)))
    q = np.random.default_rng(seed).standard_normal(size)
    if start is not None:
        # a little of the seeded vector too, so that no eigenvector is missed by being orthogonal to the start
        start = np.asarray(start, dtype=np.float64).reshape(size)
        q = start / max(np.linalg.norm(start), 1e-300) + 0.01 * q / np.linalg.norm(q)
    basis = np.empty((limit, size))
    basis[0] = q / np.linalg.norm(q)
    alphas, betas = [], []
    for j in range(limit):
        w = np.asarray(hvp(basis[j]), dtype=np.float64)
        if w.shape != (size,) or not np.isfinite(w).all():
            raise DataError("the Hessian-vector product is not finite here (the loss is NaN or inf); "
                            "no curvature can be measured")
        alphas.append(float(basis[j] @ w))
        for _ in range(2):  # full re-orthogonalisation, twice
            w -= basis[:j + 1].T @ (basis[:j + 1] @ w)
        beta = float(np.linalg.norm(w))
        values, vectors, residuals = _ritz(alphas, betas, beta, k, which)
        scale = max(float(np.abs(values).max()), 1e-300)
        exhausted = beta <= 1e-12 * max(scale, 1.0) or j + 1 == size  # an invariant subspace: exact
        if (j + 1 >= k and (residuals <= tol * scale).all()) or exhausted or j + 1 == limit:
            converged = bool(exhausted or (residuals <= tol * scale).all())
            ritz = vectors.T @ basis[:j + 1]  # (k,P)
            ritz /= np.linalg.norm(ritz, axis=1, keepdims=True)
            return Eigenpairs(values, ritz, residuals / scale, j + 1, converged)
        betas.append(beta)
        basis[j + 1] = w / beta
    raise AssertionError("unreachable: the loop returns at its last step")


def _ritz(alphas, betas, beta, k, which):
    """The wanted ``k`` Ritz values, their vectors in the Lanczos basis (j, k), and their residuals."""
    T = np.diag(alphas) + np.diag(betas, 1) + np.diag(betas, -1)
    theta, S = np.linalg.eigh(T)
    order = np.argsort(-np.abs(theta) if which == "magnitude" else -theta, kind="stable")[:min(k, len(theta))]
    return theta[order], S[:, order], beta * np.abs(S[-1, order])
