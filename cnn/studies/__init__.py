"""Studies and measurements: the origin's experiment, the architecture study and sweep, benchmarks, synthetic sets."""
