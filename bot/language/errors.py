"""Errors shared by the grammar and its value parsers."""
from __future__ import annotations


class UsageError(Exception):
    def __init__(self, problem: str, usage: str):
        super().__init__(f"{problem}\nUsage: {usage}")
        self.problem, self.usage = problem, usage
