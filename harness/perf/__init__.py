"""Performance measurement: `critbench bench` (HVP throughput against the machine's matmul peak and memory
roofline), the store's scaling benchmark, and the asv history helpers."""
