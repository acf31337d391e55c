"""The film: framework (scenes plan a timeline), overlays and elements (what is drawn), screen (the flat layer
under them), filming (frames to files).

Inside, the layers run filming -> framework -> overlays -> elements -> screen (an import-linter contract).
Render reads the format layer, never training.
"""
