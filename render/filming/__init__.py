"""From a planned scene to files: the frame loop, sinks and ffmpeg, quality presets, workers, the cluster, the back-end probe.

``film.open_film(spec)`` plans a scene on an off-screen plotter; ``deliver.render_film``
streams its frames (``workers`` in processes, or ``frames_cluster`` on a Dask cluster,
which scatters a ``FilmShipment`` once) to one or more sinks.

To add an output format: a ``sinks.FrameSink`` subclass declaring ``name``, ``label``,
``suffix`` (``"/"`` for a folder), ``even``, ``keeps_alpha`` and ``settings``, with
``_output(tmp)`` returning the ``ffmpeg.FfmpegOutput`` it needs from ``self.source_size`` frames
(supersampled: ``self._downscale()`` as its filters), added to ``FORMATS`` at the end
of ``sinks.py``: the suffix choice, size and alpha checks, ``render_film``, the API and
the ``-o`` help read that table. Test it in ``tests/render/filming/test_sinks.py`` by
reading back its size, frames and codec.
"""
