"""Many clips at once (``rom-measure batch``): resumable, a process pool or Dask."""
