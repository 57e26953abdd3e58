"""The flux measurement: likelihood model, fits, sensitivity, toys and propagation to CEvNS detectors."""
