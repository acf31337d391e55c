"""The scene framework: scenes plan a timeline of animations with typed options; the loader finds a scene."""
