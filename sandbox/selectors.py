"""Label and field selectors as kube-apiserver parses them (the subset kubectl and the client use)."""
from __future__ import annotations

import re
from typing import Callable

from .errors import bad_request

Predicate = Callable[[dict], bool]
_SET_RE = re.compile(r"^\s*(!?)([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")
_EQ_RE = re.compile(r"^\s*([\w./-]+)\s*(==|!=|=)\s*([\w.-]*)\s*$")
_EXISTS_RE = re.compile(r"^\s*(!?)([\w./-]+)\s*$")


def _split_terms(text: str) -> list[str]:
    """Split at commas that are not inside parentheses."""
    terms, depth, current = [], 0, ""
    for ch in text:
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            terms.append(current)
            current = ""
        else:
            current += ch
    terms.append(current)
    return [t for t in terms if t.strip()]


def _label_term(term: str) -> Callable[[dict], bool]:
    if m := _SET_RE.match(term):
        key, op = m.group(2), m.group(3)
        values = {v.strip() for v in m.group(4).split(",") if v.strip()}
        if op == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    if m := _EQ_RE.match(term):
        key, op, value = m.groups()
        if op == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: labels.get(key) == value
    if m := _EXISTS_RE.match(term):
        neg, key = m.groups()
        return (lambda labels: key not in labels) if neg else (lambda labels: key in labels)
    raise bad_request(f"unable to parse requirement: {term!r}")


def label_selector(text: str | None) -> Predicate:
    if not text:
        return lambda obj: True
    terms = [_label_term(t) for t in _split_terms(text)]

    def matches(obj: dict) -> bool:
        labels = obj.get("metadata", {}).get("labels") or {}
        return all(term(labels) for term in terms)
    return matches


def field_selector(text: str | None) -> Predicate:
    if not text:
        return lambda obj: True
    checks = []
    for term in _split_terms(text):
        m = _EQ_RE.match(term)
        if not m or m.group(1) not in ("metadata.name", "metadata.namespace"):
            raise bad_request(f'"{term}" is not a known field selector: only "metadata.name", '
                              '"metadata.namespace"')
        field, op, value = m.groups()
        attr = field.split(".")[1]
        checks.append((attr, op != "!=", value))
    return lambda obj: all((obj["metadata"].get(a) == v) == eq for a, eq, v in checks)


def match_labels(selector: dict | None, labels: dict | None) -> bool:
    """A LabelSelector object (matchLabels + matchExpressions) against labels."""
    if not selector:
        return False
    labels = labels or {}
    for k, v in (selector.get("matchLabels") or {}).items():
        if labels.get(k) != v:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        ok = {"In": labels.get(key) in values, "NotIn": labels.get(key) not in values,
              "Exists": key in labels, "DoesNotExist": key not in labels}[op]
        if not ok:
            return False
    return True


def selector_string(selector: dict | None) -> str:
    """LabelSelector object -> the string form (Scale.status.selector, kubectl's list)."""
    parts = [f"{k}={v}" for k, v in sorted((selector or {}).get("matchLabels", {}).items())]
    for expr in (selector or {}).get("matchExpressions") or []:
        op = expr["operator"]
        if op in ("In", "NotIn"):
            parts.append(f"{expr['key']} {op.lower()} ({','.join(expr.get('values') or [])})")
        else:
            parts.append(("" if op == "Exists" else "!") + expr["key"])
    return ",".join(parts)
