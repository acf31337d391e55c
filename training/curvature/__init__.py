"""Curvature: Hessian-vector products, their top eigenpairs (Lanczos), and sharpness along the path.

Curvature rides on the evaluation: ``evaluation.hessian_at(theta)`` returns
``hvp(v) -> H v``, or None where the loss has none. The built-in MLP's is the
exact R-operator (``hessian``), a user's ``loss_fn`` has one when it brings
``grad_fn`` (central differences), a 2-D function and a PyTorch model have none
(a PyTorch one would be ``torch.func.jvp`` over ``grad``). ``lanczos`` asks only
for products, so the Hessian plane and the sharpness along the path (stored as
the landscape's optional ``sharpness_steps`` and ``sharpness``) work for any
evaluation that has them.
"""
