"""Pure data and rules: release records, the state machine, plans, timing, apps, health (stdlib only)."""
