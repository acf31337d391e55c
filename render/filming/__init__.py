"""From a planned scene to files: the frame loop, sinks and ffmpeg, quality presets, workers, the cluster, the back-end probe."""
