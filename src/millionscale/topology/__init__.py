"""topology: see ARCHITECTURE.md; arrives with its issue."""
