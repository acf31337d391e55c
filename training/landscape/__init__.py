"""The landscape: paths, the plane through them, what is evaluated, the loss grid, the 1-D segment, races and 2-D functions.

One pipeline makes every landscape: ``pipeline.build_landscape(paths, settings, evaluation)``
for a single run, an optimizer race and a classic 2-D function alike. ``paths``
(``descent_paths``) says what differs between them (the plane's origin, what is
recorded); ``settings`` is the frozen ``LandscapeSettings`` (``settings``, every
default written once); ``evaluation`` is an ``evaluation.Evaluation``: the built-in
MLP's fast path, a user's ``loss_fn``, an analytic f(x, y), ``lossfilm.torch``'s
PyTorch model, or any of them on a Dask cluster (``lossfilm.training.grid_cluster``).
Its ``on(plane)`` is a ``grid.PlaneLoss``, which ``grid.evaluate_grid`` drives;
its optional parts (``cost``, ``hessian_at``, ``line_plane``) are declared there
with their defaults. ``pipeline.cached_landscape`` is the one cached stage around
the pipeline (key, reuse, checkpoint, resume).

To add a plane: one entry in ``PLANE_KINDS`` (``lossfilm/format/planes.py``: name,
``--directions`` help, axis label, summary line, grid reach) and its builder,
``(paths, settings) -> Plane``, in ``plane.py`` under ``@plane_builder("NAME")``
(``race=True`` if it can put its origin at the racers' shared start,
``needs_loss=True`` if it is made from the loss, as the Hessian plane is: it is
then given the evaluation too). CLI choices, labels, summaries and the grid
extent read the table. Test it in ``tests/training/landscape/test_plane.py``.
"""
