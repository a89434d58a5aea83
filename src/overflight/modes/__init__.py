"""modes stage."""
