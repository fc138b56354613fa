"""The threads of a running process: leadership, driver, health watch, timers."""
