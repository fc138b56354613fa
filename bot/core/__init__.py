"""Use cases: load -> decide -> save -> apply; who may do what (platform-neutral)."""
