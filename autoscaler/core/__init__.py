"""The pure, synchronous, deterministic decision core (no I/O, no clock reads)."""
