"""The reference photo-sharing app: a small Instagram that every tier scales."""
