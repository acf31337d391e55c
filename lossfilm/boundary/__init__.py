"""Where lossfilm meets what it does not own: a user's ``.py`` file, a Dask cluster. Training and render both use it.

It sits below both (above the format layer, whose errors it raises), so that
``--loss my_loss.py:fn`` and a scene file are imported by one importer, and
the loss grid and the film scatter their shipment to a cluster by one retry.
"""
