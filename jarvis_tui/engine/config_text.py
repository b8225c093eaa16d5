"""``config.toml`` as text: the commented default for humans, with generated values written in.

The default config (``default_config.toml``) is prose as much as data: its comments explain
every key. Generated parts (a repository path, a socket name, ready agent profiles) are
rendered with tomli-w, which escapes and quotes TOML correctly, and set into that text
line by line, so the comments stay where they are.
"""

from __future__ import annotations

import re
from typing import Any

import tomli_w

_HEADER = re.compile(r"^\s*\[([^\]]+)\]")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def value_text(value: Any) -> str:
    """One TOML value as it appears right of ``=`` (a table as an inline table)."""
    if isinstance(value, dict):
        items = ", ".join(f"{key_text(k)} = {value_text(v)}" for k, v in value.items())
        return "{ " + items + " }" if items else "{}"
    line = tomli_w.dumps({"v": value})
    return line.split("=", 1)[1].strip()


def key_text(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else value_text(key)


def set_value(text: str, table: str, key: str, value: Any) -> str:
    """``text`` with ``key``'s value in ``[table]`` replaced by ``value``, its comment kept.

    Raises KeyError if the key is not set in that table (a template that lost a line is a bug).
    """
    lines = text.splitlines(keepends=True)
    current = ""
    pattern = re.compile(rf"^(\s*{re.escape(key)}\s*=\s*)(.*?)(\s*(?:#.*)?)(\n?)$")
    for number, line in enumerate(lines):
        header = _HEADER.match(line)
        if header:
            current = header.group(1).strip()
            continue
        if current != table:
            continue
        match = pattern.match(line)
        if match and not _in_string(match.group(2), match.group(3)):
            lines[number] = f"{match.group(1)}{value_text(value)}{match.group(3)}{match.group(4)}"
            return "".join(lines)
    raise KeyError(f"{key} is not set in [{table}]")


def _in_string(value: str, comment: str) -> bool:
    """Whether the '#' that starts ``comment`` is really inside a string of ``value``."""
    return bool(comment.strip()) and value.count('"') % 2 == 1


def tables(prefix: str, named: dict[str, dict[str, Any]]) -> str:
    """``[prefix.NAME]`` tables for each entry, rendered by tomli-w (long strings multi-line)."""
    out = []
    for name, data in named.items():
        plain = {k: v for k, v in data.items() if not isinstance(v, dict)}
        nested = {k: v for k, v in data.items() if isinstance(v, dict)}
        body = tomli_w.dumps(plain, multiline_strings=True)
        for key, table in nested.items():  # small tables inline, next to the keys they go with
            body += f"{key_text(key)} = {value_text(table)}\n"
        out.append(f"[{prefix}.{key_text(name)}]\n{body}")
    return "\n".join(out)


__all__ = ["key_text", "set_value", "tables", "value_text"]
