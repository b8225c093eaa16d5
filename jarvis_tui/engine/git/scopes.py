"""File scopes: which files an agent may touch, as gitignore-style globs.

Patterns are matched against repo-relative FILE paths ("src/auth/login.py"), as in .gitignore:

- ``*`` any run of characters except "/", ``?`` one such character, ``[a-z]``/``[!a-z]`` a
  class (never "/"), ``\\`` escapes the next character;
- ``**`` as a whole segment: ``**/x`` (x in any directory), ``a/**`` (everything inside a),
  ``a/**/b`` (zero or more directories between); elsewhere ``**`` is ``*``;
- a pattern with no "/" but a trailing one matches at any depth (``*.py``, ``docs/``); any
  other "/" anchors it to the repo root (``src/auth/**``, ``/setup.py``);
- a trailing "/" matches directories only: ``docs/`` is every file under any ``docs`` directory;
- a pattern that names a directory matches every file under it: a trailing "/" (``docs/``),
  a literal last segment (``src/auth`` covers ``src/auth/x.py``) or ``**`` (``src/**``);
- ONE deviation from .gitignore, for scopes: a last segment with a wildcard names files, not
  directories (as in .gitattributes): ``*.py`` does not cover ``x.py/notes.txt`` and ``src/*``
  is the files directly in src (write ``src/`` or ``src/**`` for all of it). Otherwise
  ``*.py`` and ``*.md`` would overlap through a directory named ``x.md`` holding ``y.py``;
- ``!pattern`` excludes, and the last matching pattern decides. Unlike .gitignore, a negation
  may re-include a file inside an excluded directory (scopes name files; git's rule exists so
  it need not walk excluded directories). Leading and trailing whitespace is dropped.

No dependency: Python 3.11 has no ``glob.translate`` and ``fnmatch`` knows neither ``**`` nor
anchoring. Each pattern is parsed once into segments of character sets; the same parse gives
the regex that :class:`ScopeMatcher` uses and the automaton that :func:`shared_path` uses, so
the two cannot disagree.

Two scopes overlap when some file path is matched by both. :func:`shared_path` decides it
exactly, for files that exist (``known_paths``) and files that do not yet: it explores the
product of both scopes' automata (negations included) over a finite alphabet of
representative characters, and returns the shortest such path as a witness.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

Ranges = tuple[tuple[int, int], ...]
Pred = tuple[Ranges, bool]  # (ranges, negated): c matches when (c in ranges) != negated
Atom = tuple[Pred, bool]  # (characters, repeated) -- "*" is (any but "/", True)

_SLASH_CODE = ord("/")
SLASH: Pred = (((_SLASH_CODE, _SLASH_CODE),), False)
ANY: Pred = ((), True)  # any character, "/" included
IN_SEGMENT: Pred = (((_SLASH_CODE, _SLASH_CODE),), True)  # any character but "/"
SEARCH_LIMIT = 50_000  # product states explored before answering "may overlap"


class ScopeError(ValueError):
    """A scope pattern that cannot be used: empty, an empty segment ("a//b"), an unclosed
    "[" or a lone trailing backslash (git would silently match nothing for the last three)."""


@dataclass(frozen=True)
class Glob:
    text: str
    negated: bool
    anchored: bool
    dir_only: bool
    segments: tuple[tuple[Atom, ...] | None, ...]  # None is a "**" segment
    expands: bool  # also matches the files under a directory it matches


def _literal(ch: str) -> Pred:
    return (((ord(ch), ord(ch)),), False)


def _without_slash(ranges: list[tuple[int, int]], negated: bool) -> Pred:
    """A class never matches "/": add it to a negated class, cut it out of a positive one."""
    if negated:
        return (tuple(ranges) + ((_SLASH_CODE, _SLASH_CODE),), True)
    out: list[tuple[int, int]] = []
    for lo, hi in ranges:
        if lo <= _SLASH_CODE <= hi:
            out += [r for r in ((lo, _SLASH_CODE - 1), (_SLASH_CODE + 1, hi)) if r[0] <= r[1]]
        else:
            out.append((lo, hi))
    return (tuple(out), False)


def _parse_class(seg: str, start: int) -> tuple[Pred, int] | None:
    """``[...]`` at ``seg[start]``: its predicate and the index after it, or None if unclosed."""
    i, negated = start + 1, False
    if i < len(seg) and seg[i] in "!^":
        negated, i = True, i + 1
    ranges: list[tuple[int, int]] = []
    first = True
    while i < len(seg):
        ch = seg[i]
        if ch == "]" and not first:
            return _without_slash(ranges, negated), i + 1
        first = False
        if ch == "\\" and i + 1 < len(seg):
            i += 1
            ch = seg[i]
        i += 1
        if i + 1 < len(seg) and seg[i] == "-" and seg[i + 1] != "]":
            hi = seg[i + 1]
            if hi == "\\" and i + 2 < len(seg):
                i += 1
                hi = seg[i + 1]
            i += 2
            if ord(hi) >= ord(ch):  # a reversed range matches nothing, as in git
                ranges.append((ord(ch), ord(hi)))
        else:
            ranges.append((ord(ch), ord(ch)))
    return None


def _parse_segment(seg: str, pattern: str) -> tuple[tuple[Atom, ...], bool]:
    """The segment's atoms, and whether it has a wildcard (``*``, ``?`` or a class)."""
    atoms: list[Atom] = []
    wildcard = False
    i = 0
    while i < len(seg):
        ch = seg[i]
        if ch == "\\":
            if i + 1 == len(seg):
                raise ScopeError(f"scope pattern {pattern!r} ends a segment with a lone backslash")
            atoms.append((_literal(seg[i + 1]), False))
            i += 2
        elif ch == "*":
            while i < len(seg) and seg[i] == "*":
                i += 1
            atoms.append((IN_SEGMENT, True))
            wildcard = True
        elif ch == "?":
            atoms.append((IN_SEGMENT, False))
            i += 1
            wildcard = True
        elif ch == "[":
            parsed = _parse_class(seg, i)
            if parsed is None:
                raise ScopeError(f"scope pattern {pattern!r} has an unclosed '[' (write '\\[' for the character)")
            atoms.append((parsed[0], False))
            i = parsed[1]
            wildcard = True
        else:
            atoms.append((_literal(ch), False))
            i += 1
    return tuple(atoms), wildcard


def parse(pattern: str) -> Glob:
    """One gitignore-style pattern, parsed (raises :class:`ScopeError`)."""
    text = pattern.strip()
    negated = text.startswith("!")
    body = text[1:] if negated else text
    dir_only = body.endswith("/")
    body = body.removesuffix("/")
    anchored = "/" in body
    body = body.removeprefix("/")
    if not body:
        raise ScopeError(f"scope pattern {pattern!r} names no path")
    parts = body.split("/")
    if "" in parts:
        raise ScopeError(f"scope pattern {pattern!r} has an empty path segment ('//')")
    segments: list[tuple[Atom, ...] | None] = []
    wildcard = False
    for part in parts:
        if len(part) >= 2 and part == "*" * len(part):  # "**" (git reads "***" alike)
            if not segments or segments[-1] is not None:  # "**/**" is "**"
                segments.append(None)
            wildcard = False
        else:
            atoms, wildcard = _parse_segment(part, pattern)
            segments.append(atoms)
    return Glob(text, negated, anchored, dir_only, tuple(segments), expands=dir_only or not wildcard)


# --- regex (matching) ---------------------------------------------------------------------


def _char_regex(pred: Pred) -> str:
    ranges, negated = pred
    if not negated and len(ranges) == 1 and ranges[0][0] == ranges[0][1]:
        return re.escape(chr(ranges[0][0]))
    if not ranges:
        return "." if negated else "(?!)"
    body = "".join(f"\\U{lo:08x}" if lo == hi else f"\\U{lo:08x}-\\U{hi:08x}" for lo, hi in ranges)
    return f"[{'^' if negated else ''}{body}]"


def regex(glob: Glob) -> str:
    """The regex (for ``re.fullmatch`` with DOTALL) of the file paths ``glob`` matches."""
    out = [] if glob.anchored else ["(?:.*/)?"]
    last = len(glob.segments) - 1
    for i, seg in enumerate(glob.segments):
        if seg is None:
            out.append(".*" if i == last else "(?:.*/)?")
            continue
        out.append("".join(_char_regex(pred) + ("*" if repeated else "") for pred, repeated in seg))
        if i != last:
            out.append("/")
    if glob.dir_only:
        out.append("/.+")
    elif glob.expands:
        out.append("(?:/.*)?")  # a matched directory matches its files
    return "".join(out)


class ScopeMatcher:
    """Does a repo-relative file path fall inside a scope? An empty scope matches nothing."""

    def __init__(self, patterns: Iterable[str]) -> None:
        self.patterns = tuple(patterns)
        self.globs = tuple(parse(p) for p in self.patterns)
        self._rules = [(re.compile(regex(g), re.DOTALL), g.negated) for g in self.globs]
        if self.globs and not any(g.negated for g in self.globs):  # one regex for the common case
            self._any: re.Pattern[str] | None = re.compile("|".join(f"(?:{regex(g)})" for g in self.globs), re.DOTALL)
        else:
            self._any = None

    def matches(self, path: str) -> bool:
        if self._any is not None:
            return self._any.fullmatch(path) is not None
        for rule, negated in reversed(self._rules):  # the last matching pattern decides
            if rule.fullmatch(path):
                return not negated
        return False


def out_of_scope(paths: Iterable[str], patterns: Iterable[str]) -> list[str]:
    """The paths no pattern of the scope allows, sorted."""
    matcher = ScopeMatcher(patterns)
    return sorted({p for p in paths if not matcher.matches(p)})


# --- automata (overlap of two scopes) -------------------------------------------------------


class _NFA:
    """Thompson-style automaton of one glob: edges on predicates, epsilon moves, accept states."""

    def __init__(self, glob: Glob) -> None:
        self.edges: list[list[tuple[Pred, int]]] = []
        self.eps: list[list[int]] = []
        self.accept: set[int] = set()
        s = self._new()
        if not glob.anchored:
            s = self._optional_dirs(s)
        last = len(glob.segments) - 1
        for i, seg in enumerate(glob.segments):
            if seg is None:
                s = self._repeat(s, ANY) if i == last else self._optional_dirs(s)
                continue
            for pred, repeated in seg:
                s = self._repeat(s, pred) if repeated else self._step(s, pred)
            if i != last:
                s = self._step(s, SLASH)
        if glob.dir_only:  # "/.+": a file somewhere under the matched directory
            self.accept.add(self._repeat(self._step(self._step(s, SLASH), ANY), ANY))
        elif glob.expands:  # "(?:/.*)?": the matched path itself, or anything under it
            self.accept |= {s, self._repeat(self._step(s, SLASH), ANY)}
        else:
            self.accept.add(s)

    def _new(self) -> int:
        self.edges.append([])
        self.eps.append([])
        return len(self.edges) - 1

    def _step(self, s: int, pred: Pred) -> int:
        t = self._new()
        self.edges[s].append((pred, t))
        return t

    def _repeat(self, s: int, pred: Pred) -> int:
        t = self._new()  # a fresh state, so the loop belongs to this repetition alone
        self.eps[s].append(t)
        self.edges[t].append((pred, t))
        return t

    def _optional_dirs(self, s: int) -> int:
        """``(?:.*/)?``: nothing, or any leading directories."""
        end = self._step(self._repeat(s, ANY), SLASH)
        self.eps[s].append(end)
        return end

    def closure(self, states: Iterable[int]) -> frozenset[int]:
        todo = list(states)
        seen = set(todo)
        while todo:
            for t in self.eps[todo.pop()]:
                if t not in seen:
                    seen.add(t)
                    todo.append(t)
        return frozenset(seen)

    def move(self, states: frozenset[int], code: int) -> frozenset[int]:
        return self.closure(t for s in states for pred, t in self.edges[s] if _holds(pred, code))


def _holds(pred: Pred, code: int) -> bool:
    ranges, negated = pred
    return any(lo <= code <= hi for lo, hi in ranges) != negated


class _Scope:
    """A scope's globs run side by side: its state is one state set per glob."""

    def __init__(self, patterns: Iterable[str]) -> None:
        self.globs = [parse(p) for p in patterns]
        self.nfas = [_NFA(g) for g in self.globs]

    def start(self) -> tuple[frozenset[int], ...]:
        return tuple(n.closure([0]) for n in self.nfas)

    def step(self, state: tuple[frozenset[int], ...], code: int) -> tuple[frozenset[int], ...]:
        return tuple(n.move(s, code) for n, s in zip(self.nfas, state, strict=False))

    def accepts(self, state: tuple[frozenset[int], ...]) -> bool:
        for glob, nfa, s in zip(reversed(self.globs), reversed(self.nfas), reversed(state), strict=False):
            if s & nfa.accept:
                return not glob.negated
        return False

    def alive(self, state: tuple[frozenset[int], ...]) -> bool:
        """Can some positive glob still match a longer path?"""
        return any(s for g, s in zip(self.globs, state, strict=False) if not g.negated)

    def predicates(self) -> Iterable[Pred]:
        return (pred for nfa in self.nfas for edges in nfa.edges for pred, _ in edges)


def _alphabet(preds: Iterable[Pred]) -> list[int]:
    """One character per class of characters no predicate tells apart (plus "/")."""
    points = {1, _SLASH_CODE, _SLASH_CODE + 1}
    for ranges, _ in preds:
        for lo, hi in ranges:
            points |= {lo, hi + 1}
    cuts = sorted(p for p in points if p <= 0x10FFFF)
    # A readable witness: a letter, digit or "_-." when the class has one, else any printable.
    nice = [ord(c) for c in "abcxyz0123456789_-."] + list(range(33, 127))
    reps = [next((c for c in nice if lo <= c < hi), lo) for lo, hi in zip(cuts, [*cuts[1:], 0x110000], strict=False)]
    rank = {c: i for i, c in reversed(list(enumerate(nice)))}
    return sorted(reps, key=lambda c: rank.get(c, len(nice)))  # tried first: the shortest witness reads best


def _search(a: _Scope, b: _Scope) -> str | None:
    """Breadth-first over (path validity, scope a, scope b): the shortest path both accept.
    Path validity: non-empty segments, no leading or trailing "/"."""
    alphabet = _alphabet([*a.predicates(), *b.predicates()])
    start = (0, a.start(), b.start())
    parent: dict[object, tuple[object, int] | None] = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        valid, sa, sb = node
        if valid == 1 and a.accepts(sa) and b.accepts(sb):
            chars: list[str] = []
            cur: object = node
            while (link := parent[cur]) is not None:
                cur, code = link
                chars.append(chr(code))
            return "".join(reversed(chars))
        for code in alphabet:
            nv = (2 if valid == 1 else -1) if code == _SLASH_CODE else 1
            if nv < 0:
                continue
            nxt = (nv, a.step(sa, code), b.step(sb, code))
            if nxt in parent or not (a.alive(nxt[1]) and b.alive(nxt[2])):
                continue
            if len(parent) >= SEARCH_LIMIT:
                return "**"  # undecided: answer "may overlap" rather than risk a wrong "no"
            parent[nxt] = (node, code)
            queue.append(nxt)
    return None


def shared_path(patterns_a: Iterable[str], patterns_b: Iterable[str], known_paths: Iterable[str] = ()) -> str | None:
    """A file path both scopes match, or None when no file can be in both.

    A known (tracked) path matched by both is preferred, as the more telling example;
    otherwise the shortest possible path (e.g. ``src/a.py``) is returned."""
    list_a, list_b = list(patterns_a), list(patterns_b)
    match_a, match_b = ScopeMatcher(list_a), ScopeMatcher(list_b)
    for path in known_paths:
        if match_a.matches(path) and match_b.matches(path):
            return path
    return _search(_Scope(list_a), _Scope(list_b))


def scopes_overlap(patterns_a: Iterable[str], patterns_b: Iterable[str], known_paths: Iterable[str] = ()) -> bool:
    """Can two scopes touch the same file (existing or not)? Exact, see :func:`shared_path`."""
    return shared_path(patterns_a, patterns_b, known_paths) is not None


__all__ = ["Glob", "ScopeError", "ScopeMatcher", "out_of_scope", "parse", "regex", "scopes_overlap", "shared_path"]
