"""The stateless web tier. For now: the placeholder HTTP process of the single-server stage."""
