"""Stand-ins for external services (real protocols over 127.0.0.1), shared by tests
and benchmarks."""
