"""Design studies: resumable parameter scans of detector configurations on Dask (``d2oflux scan``)."""
