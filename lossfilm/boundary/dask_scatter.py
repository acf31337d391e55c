"""Scatter one value to every worker of a Dask cluster, retried while a worker that just died is still listed.

The loss grid (:mod:`lossfilm.training.grid_cluster`) scatters its plane
loss and the film (:mod:`lossfilm.render.filming.frames_cluster`) its
shipment this way: once to every worker, so that each task names it
instead of carrying it. A worker that dies mid-scatter leaves the
scheduler's list within seconds; until it does, the scatter fails with
distributed's ``CommClosedError`` (an ``OSError``) and is tried again.

Dask is imported by the caller (a client is passed in); this module does not.
"""

from __future__ import annotations

import time

SCATTER_TRIES, SCATTER_PAUSE = 20, 0.5  # a dead worker leaves the scheduler's list within seconds


def scatter_to_every_worker(client, value, lost):
    """``value`` scattered to every worker of ``client``, as a future that tasks name.

    Parameters
    ----------
    client : dask.distributed.Client
    value : object
        Picklable; sent once per worker.
    lost : callable
        ``lost(reason) -> LossfilmError``: the caller's one-line error, given
        the failure's type name, raised when the client no longer runs or
        the tries run out.
    """
    for attempt in range(SCATTER_TRIES):
        try:
            return client.scatter(value, broadcast=True, hash=False)
        except OSError as exc:  # distributed's CommClosedError: a worker went away mid-scatter
            if client.status != "running" or attempt == SCATTER_TRIES - 1:
                raise lost(type(exc).__name__) from None
            time.sleep(SCATTER_PAUSE)
