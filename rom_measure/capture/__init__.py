"""The guided recording (``rom-measure record``): camera feeds, live view, capture."""
