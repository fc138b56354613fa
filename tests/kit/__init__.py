"""The test kit: one world builder over bot/wiring.py, the Slack world, and small helpers."""
