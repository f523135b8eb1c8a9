"""The walkable network: arrays and CSR (walk), compiled nearest-segment kernels, snapping."""
