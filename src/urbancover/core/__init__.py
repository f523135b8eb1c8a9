"""Core: errors, the settings object, progress, and small shared helpers (intervals, tiled unions)."""
