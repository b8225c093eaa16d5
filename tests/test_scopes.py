"""File scopes: gitignore-style matching (checked against git's own matcher), out-of-scope
paths, and whether two scopes can ever touch the same file."""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import pytest

from jarvis_tui.engine.git.scopes import (
    ScopeError,
    ScopeMatcher,
    _Scope,
    out_of_scope,
    parse,
    scopes_overlap,
    shared_path,
)

MATCHES = [
    # pattern, path, expected
    ("*.py", "a.py", True),
    ("*.py", "deep/down/a.py", True),
    ("*.py", "a.pyc", False),
    ("*.py", "x.py/inner.txt", False),  # a wildcard last segment names files (as in .gitattributes)
    ("src/*", "src/a.py", True),
    ("src/*", "src/sub/a.py", False),
    ("src/", "src/sub/a.py", True),
    ("*.egg-info/", "pkg.egg-info/PKG-INFO", True),  # unless it ends with "/"
    ("?.txt", "a.txt", True),
    ("?.txt", "ab.txt", False),
    ("?.txt", "d/a.txt", True),
    ("src/auth/**", "src/auth/login.py", True),
    ("src/auth/**", "src/auth/deep/x.c", True),
    ("src/auth/**", "src/auth", False),
    ("src/auth/**", "lib/src/auth/x.py", False),  # a middle "/" anchors to the root
    ("src/auth", "src/auth/x.py", True),
    ("src/auth", "src/authz/x.py", False),
    ("docs/", "docs/a.md", True),
    ("docs/", "x/docs/b.md", True),
    ("docs/", "docs", False),  # directories only: a file named docs is not in it
    ("/docs/", "x/docs/b.md", False),
    ("/top.txt", "top.txt", True),
    ("/top.txt", "sub/top.txt", False),
    ("top.txt", "sub/top.txt", True),
    ("**/build", "build", True),
    ("**/build", "a/b/build/out.o", True),
    ("a/**/b", "a/b", True),
    ("a/**/b", "a/x/y/b", True),
    ("a/**/b", "a/xb", False),
    ("src/**/test_*.py", "src/test_a.py", True),
    ("src/**/test_*.py", "src/x/test_a.py", True),
    ("src/**/test_*.py", "src/x/a_test.py", False),
    ("[a-c]*.md", "b_notes.md", True),
    ("[a-c]*.md", "d_notes.md", False),
    ("[!a-c]*.md", "d_notes.md", True),
    ("[^a-c]*.md", "a_notes.md", False),
    ("foo[0-9]", "foo7", True),
    ("foo[0-9]", "fooa", False),
    ("\\*.txt", "*.txt", True),
    ("\\*.txt", "a.txt", False),
    ("\\[x]", "[x]", True),
    ("**", "anything/at/all", True),
    ("*", "x/y", True),
    ("x/*/y", "x/a/y", True),
    ("x/*/y", "x/a/b/y", False),
    ("  spaced.txt  ", "spaced.txt", True),
]


@pytest.mark.parametrize(("pattern", "path", "expected"), MATCHES)
def test_scope_pattern_matching(pattern: str, path: str, expected: bool) -> None:
    assert ScopeMatcher([pattern]).matches(path) is expected
    assert _Scope([pattern]).accepts(_run(_Scope([pattern]), path)) is expected  # the automaton agrees


def _run(scope: _Scope, path: str):  # type: ignore[no-untyped-def]
    state = scope.start()
    for ch in path:
        state = scope.step(state, ord(ch))
    return state


def git_oracle(tmp_path: Path, pattern: str, paths: list[str]) -> dict[str, bool]:
    """What git's own matcher says, no files on disk: .gitignore rules (``check-ignore``) for
    a pattern that covers directories, .gitattributes rules (``check-attr``: a match never
    extends to the files under a directory) for one whose last segment is a wildcard."""
    repo = tmp_path / "oracle"
    if not (repo / ".git").exists():
        subprocess.run(["git", "init", "-q", str(repo)], check=True)
    stdin = "\0".join(paths) + "\0"
    if parse(pattern).expands:
        (repo / ".gitignore").write_text(pattern + "\n")
        out = subprocess.run(
            ["git", "-C", str(repo), "check-ignore", "--no-index", "-v", "-n", "-z", "--stdin"],
            input=stdin,
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        fields = out.split("\0")
        return {fields[i + 3]: bool(fields[i]) for i in range(0, len(fields) - 3, 4)}
    (repo / ".gitattributes").write_text(pattern + " jarvis\n")
    out = subprocess.run(
        ["git", "-C", str(repo), "check-attr", "-z", "--stdin", "jarvis"],
        input=stdin,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    fields = out.split("\0")
    return {fields[i]: fields[i + 2] == "set" for i in range(0, len(fields) - 2, 3)}


def test_matching_agrees_with_git(tmp_path: Path) -> None:
    positive = sorted({p for p, _, _ in MATCHES if p.strip() and not p.strip().startswith("!")})
    paths = sorted({path for _, path, _ in MATCHES} | {"a", "b/c", "src/x.py", "docs/x/y.md", "build"})
    for pattern in positive:
        oracle = git_oracle(tmp_path, pattern.strip(), paths)
        matcher = ScopeMatcher([pattern])
        assert {p: matcher.matches(p) for p in paths} == oracle, pattern


def test_random_patterns_agree_with_git_and_with_the_automaton(tmp_path: Path) -> None:
    rng = random.Random(20261122)
    tokens = ["a", "b", "*", "?", "**", "[ab]", "[!a]", "/", "/", ".", "[a-b]"]
    paths = sorted(
        {
            "/".join(rng.choice(["a", "b", "ab", "ba", ".a", "aa.b"]) for _ in range(rng.randint(1, 3)))
            for _ in range(60)
        }
    )
    checked = 0
    for _ in range(60):
        pattern = "".join(rng.choice(tokens) for _ in range(rng.randint(1, 6)))
        if any("**" in seg and seg.strip("*") for seg in pattern.split("/")):
            continue  # "a**": git's code treats it as "**" after a literal prefix; its docs (and we) as "*"
        try:
            matcher = ScopeMatcher([pattern])
        except ScopeError:
            continue
        oracle = git_oracle(tmp_path, pattern, paths)
        scope = _Scope([pattern])
        for path in paths:
            assert matcher.matches(path) is oracle[path], (pattern, path)
            assert scope.accepts(_run(scope, path)) is oracle[path], (pattern, path)
        checked += 1
    assert checked >= 30


def test_negation_last_match_wins() -> None:
    scope = ScopeMatcher(["src/**", "!src/gen/**", "src/gen/keep.py"])
    assert scope.matches("src/a.py")
    assert not scope.matches("src/gen/out.py")
    assert scope.matches("src/gen/keep.py")  # unlike .gitignore, a file can come back
    assert not ScopeMatcher([]).matches("anything")


def test_out_of_scope_lists_the_paths_no_pattern_allows() -> None:
    touched = ["src/auth/login.py", "README.md", "src/billing/pay.py", "docs/auth.md", "README.md"]
    assert out_of_scope(touched, ["src/auth/**", "docs/"]) == ["README.md", "src/billing/pay.py"]
    assert out_of_scope(touched, ["**"]) == []
    assert out_of_scope(touched, []) == sorted(set(touched))


@pytest.mark.parametrize("bad", ["", "   ", "/", "!", "a\\", "a//b", "docs//", "//x", "src/[ab", "["])
def test_unusable_patterns_are_refused(bad: str) -> None:
    with pytest.raises(ScopeError):
        ScopeMatcher([bad])


@pytest.mark.parametrize(
    ("a", "b", "overlap"),
    [
        (["src/auth/**"], ["src/billing/**"], False),
        (["src/auth/**"], ["src/**"], True),
        (["src/**"], ["*.py"], True),
        (["/setup.py"], ["lib/*.py"], False),
        (["setup.py"], ["lib/*"], True),  # lib/setup.py
        (["*.py"], ["*.md"], False),
        (["*.py"], ["docs/"], True),  # docs/a.py
        (["docs/"], ["README.md"], True),  # docs/README.md
        (["/docs/"], ["/README.md"], False),
        (["[a-c]*.py"], ["b?.py"], True),
        (["[a-c]*.py"], ["d*.py"], False),
        (["src/**", "!src/gen/**"], ["src/gen/**"], False),
        (["src/**", "!src/gen/**", "src/gen/keep.py"], ["src/gen/**"], True),
        (["a/**/b"], ["a/c"], True),  # a/c/b
        (["a/**/b"], ["/c"], False),
        (["a/**/b"], ["**/c/b"], True),
        ([], ["**"], False),
        (["!x"], ["**"], False),
    ],
)
def test_scopes_overlap_decides_exactly(a: list[str], b: list[str], overlap: bool) -> None:
    assert scopes_overlap(a, b) is overlap
    assert scopes_overlap(b, a) is overlap
    witness = shared_path(a, b)
    if overlap:
        assert witness is not None
        assert ScopeMatcher(a).matches(witness) and ScopeMatcher(b).matches(witness), witness
        assert witness and not witness.startswith("/") and not witness.endswith("/") and "//" not in witness
    else:
        assert witness is None


def test_a_known_path_is_the_preferred_witness() -> None:
    known = ["README.md", "src/auth/session.py", "src/auth/login.py"]
    assert shared_path(["src/auth/**"], ["*.py"], known) == "src/auth/session.py"
    assert shared_path(["src/auth/**"], ["*.py"]) == "src/auth/.py"  # shortest possible otherwise
    assert not scopes_overlap(["src/auth/**"], ["/README.md"], known)


def test_shared_path_is_exact_against_brute_force() -> None:
    """Random scope pairs (negations included) against every valid path up to 5 characters
    over their alphabet: no overlap is missed, every witness is real and shortest."""
    import itertools

    paths = ["".join(t) for n in range(1, 6) for t in itertools.product("ab./", repeat=n)]
    paths = [p for p in paths if not p.startswith("/") and not p.endswith("/") and "//" not in p]
    rng = random.Random(7)
    tokens = ["a", "b", "*", "?", "**", "[ab]", "[!a]", "/", ".", "!"]

    def pattern() -> str:
        while True:
            text = "".join(rng.choice(tokens) for _ in range(rng.randint(1, 5)))
            try:
                parse(text)
                return text
            except ScopeError:
                continue

    for _ in range(200):
        a = [pattern() for _ in range(rng.randint(1, 3))]
        b = [pattern() for _ in range(rng.randint(1, 2))]
        match_a, match_b = ScopeMatcher(a), ScopeMatcher(b)
        common = [p for p in paths if match_a.matches(p) and match_b.matches(p)]
        witness = shared_path(a, b)
        if witness is None:
            assert not common, (a, b, common[:3])
        else:
            assert match_a.matches(witness) and match_b.matches(witness), (a, b, witness)
            assert not common or len(witness) <= min(len(p) for p in common), (a, b, witness)
