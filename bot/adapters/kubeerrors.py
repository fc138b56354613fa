"""A Kubernetes call that failed, as graybot says it (status, reason, message): shared by the
client module and its custom-resource mixin."""
from __future__ import annotations


class KubeError(Exception):
    def __init__(self, status: int, reason: str, message: str):
        super().__init__(f"{status} {reason}: {message}")
        self.status, self.reason, self.message = status, reason, message
