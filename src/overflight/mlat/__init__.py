"""mlat stage."""
