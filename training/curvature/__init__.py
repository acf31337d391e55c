"""Curvature: Hessian-vector products, their top eigenpairs (Lanczos), and sharpness along the path."""
