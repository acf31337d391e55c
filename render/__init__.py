"""The film: framework (scenes plan a timeline), elements (what is drawn), filming (frames to files).

Inside, the layers run filming -> framework -> elements (an import-linter
contract). Render reads the format layer, never training.
"""
