"""Training and the loss: data, fit (model, optimizers, trainer, Recorder), the landscape, curvature, adapters.

NumPy only (``adapters/torch_model.py`` imports torch inside its functions);
never imports the renderer. ``grid_cluster`` runs any evaluation's grid on a
Dask cluster: ``on_cluster(evaluation, client)`` gives a ``ClusterEvaluation``
whose planes are ``ClusterPlaneLoss``es, so ``evaluate_grid``, its checkpoints and
its resume do not know about Dask. The plane loss is scattered once
(``lossfilm.boundary.dask_scatter``) as cloudpickle bytes and each task is a group
of its own node batches, so the grid is byte-identical to one process.
"""
