"""The `/release` language and its plain-text views (pure)."""
