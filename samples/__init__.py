"""Demo and sample manifests (data only): shipped in the package as ``rom_measure.samples``."""
