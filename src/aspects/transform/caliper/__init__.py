"""Caliper 1.2 output (``aspects transform --format caliper``), matching ERB's Caliper fixtures."""
