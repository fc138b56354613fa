"""Editing Kubernetes manifests as a person would: only the values that change, each in place on
its own line, so comments, key order, quoting, flow style and indentation stay exactly as they
were and the commit's diff shows only the lines graybot meant. ruamel.yaml (the one library here
that keeps where each value sits) parses the file and tells the line and column of every value;
the edit rewrites that scalar's text there, then the result is parsed again to prove it says
what was meant. A value that spans lines, or an edit that would not read back, is refused."""
from __future__ import annotations

import re

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

_PLAIN_SAFE = re.compile(r"^[A-Za-z0-9_./][A-Za-z0-9_./:@+=-]*$")
_SPECIAL = {"true", "false", "yes", "no", "on", "off", "null", "~", "y", "n"}


class ManifestError(Exception):
    pass


def _yaml() -> YAML:
    parser = YAML(typ="rt")
    parser.preserve_quotes = True
    return parser


def documents(text: str) -> list:
    """The file's YAML documents (maps and lists behave as dict and list)."""
    try:
        return [d for d in _yaml().load_all(text)]
    except YAMLError as err:
        raise ManifestError(f"not valid YAML: {str(err).splitlines()[0]}") from err


def edit(text: str, index: int, edits: list[tuple[tuple, object]]) -> str:
    """`text` with the values at `edits` (paths in document `index`) replaced in place; a key
    its mapping lacks is added after the mapping's last key, in the same style."""
    lines = text.split("\n")
    doc = documents(text)[index]
    for path, value in sorted(edits, key=lambda e: _where(doc, e[0]), reverse=True):   # bottom up, right to left
        parent = _parent(doc, path)
        line, col = _where(doc, path)
        flow = bool(parent.fa.flow_style())
        if path[-1] in parent:
            lines[line] = _replace(lines[line], col, value, flow)
        elif flow:
            end = col + len(_token(lines[line][col:], flow))
            lines[line] = lines[line][:end] + f", {path[-1]}: {_plain(value)}" + lines[line][end:]
        else:
            key_col = parent.lc.key(list(parent)[-1])[1]
            lines.insert(line + 1, " " * key_col + f"{path[-1]}: {_plain(value)}")
    result = "\n".join(lines)
    after = documents(result)[index]
    for path, value in edits:
        if _get(after, path) != value:
            raise ManifestError(f"editing {'.'.join(map(str, path))} would not read back as {value!r}")
    return result


def _parent(doc, path: tuple):
    return _get(doc, path[:-1])


def _get(doc, path: tuple):
    node = doc
    for key in path:
        node = node[key]
    return node


def _where(doc, path: tuple) -> tuple[int, int]:
    """Where the value at `path` is; for a key its mapping lacks, where the last key's value is
    (a block mapping whose last value is itself nested cannot take a new key in place)."""
    parent, key = _parent(doc, path), path[-1]
    if isinstance(parent, CommentedMap) and key not in parent:
        if not parent:
            raise ManifestError(f"{'.'.join(map(str, path[:-1]))} is empty: a key cannot be added in place")
        last = list(parent)[-1]
        if isinstance(parent[last], (CommentedMap, CommentedSeq)):
            raise ManifestError(f"{'.'.join(map(str, path[:-1]))} ends in a nested value: {key} cannot be added in place")
        return parent.lc.value(last)
    if isinstance(parent, CommentedMap):
        return parent.lc.value(key)
    if isinstance(parent, CommentedSeq):
        return parent.lc.item(key)
    raise ManifestError(f"{'.'.join(map(str, path))} is not in a mapping or a list")


def _token(rest: str, flow: bool) -> str:
    """The text of the one-line scalar that starts `rest`."""
    if rest[:1] in ("'", '"'):
        return rest[:_quoted_end(rest)]
    stop = r"(?=\s+#|\s*$)" if not flow else r"(?=\s+#|\s*[,\]}]|\s*$)"
    found = re.match(r"[^\n]*?" + stop, rest)
    token = found.group(0) if found else ""
    if not token or token in ("|", ">", "|-", ">-") or token.startswith(("&", "*", "!")):
        raise ManifestError(f"the value in {rest.strip()!r} is not a one-line scalar")
    return token


def _replace(line: str, col: int, value: object, flow: bool) -> str:
    token = _token(line[col:], flow)
    new = _quote(str(value), token[0]) if token[0] in ("'", '"') else _plain(value)
    return line[:col] + new + line[col + len(token):]


def _quoted_end(rest: str) -> int:
    quote, i = rest[0], 1
    while i < len(rest):
        if quote == "'" and rest[i] == "'":
            if rest[i + 1:i + 2] == "'":
                i += 2
                continue
            return i + 1
        if quote == '"' and rest[i] == "\\":
            i += 2
            continue
        if quote == '"' and rest[i] == '"':
            return i + 1
        i += 1
    raise ManifestError("a quoted value spanning lines cannot be edited in place")


def _quote(value: str, quote: str) -> str:
    if quote == "'" and value.isprintable():
        return f"'{value.replace(chr(39), chr(39) * 2)}'"
    return _double_quoted(value)


def _double_quoted(value: str) -> str:
    """YAML's double-quoted style: backslash escapes for what is not printable as it is."""
    out = []
    for ch in value:
        if ch in '\\"':
            out.append("\\" + ch)
        elif ch.isprintable():
            out.append(ch)
        else:
            out.append(f"\\u{ord(ch):04x}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08x}")
    return '"' + "".join(out) + '"'


def _plain(value: object) -> str:
    if isinstance(value, bool) or value is None:
        raise ManifestError(f"{value!r} is not a value graybot writes")
    if isinstance(value, int):
        return str(value)
    text = str(value)
    looks_like_other = text.lower() in _SPECIAL or re.fullmatch(r"[-+]?[0-9._]+(e[-+]?[0-9]+)?", text) is not None
    return text if _PLAIN_SAFE.match(text) and not looks_like_other else _double_quoted(text)
