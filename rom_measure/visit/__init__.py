"""Results on disk, the pre/post comparison and the visit report."""
