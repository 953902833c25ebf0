"""Acronyms and their full forms, for expanding queries both ways.

News articles write "BHXH" in one paragraph and "bảo hiểm xã hội" in the next, and readers type
either; expanding at query time (not at indexing) lets archivists add acronyms without a
reindex. The list is a text file so they can extend it; `VNSEARCH_ACRONYMS` adds their own
files. Every form is kept as its folded tokens, the same tokens the query builder works with.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from pathlib import Path

from search.text.analysis import folded_analyzer
from search.text.normalize import normalize

DEFAULT_FILE = Path(__file__).with_name("data") / "acronyms.txt"

Form = tuple[str, ...]
Group = tuple[Form, ...]

_FOLDED = folded_analyzer()


def _tokens(text: str) -> Form:
    return tuple(token.text for token in _FOLDED(text))


def _merge(groups: Iterable[Sequence[Form]]) -> list[Group]:
    """Union groups that share a form, keeping forms (and groups) in first-seen order."""
    parent: dict[Form, Form] = {}

    def root(form: Form) -> Form:
        while parent[form] != form:
            parent[form] = parent[parent[form]]
            form = parent[form]
        return form

    for group in groups:
        for form in group:
            parent.setdefault(form, form)
        first = root(group[0])
        for form in group[1:]:
            other = root(form)
            if other != first:
                parent[other] = first
    members: dict[Form, list[Form]] = {}
    for form in parent:
        members.setdefault(root(form), []).append(form)
    return [tuple(forms) for forms in members.values()]


class SynonymTable:
    """Groups of equivalent token sequences, looked up by their first token."""

    def __init__(self, groups: Iterable[Sequence[Form]]) -> None:
        self._groups = _merge(groups)
        self._by_first: dict[str, list[tuple[Form, Group]]] = {}
        for group in self._groups:
            for form in group:
                self._by_first.setdefault(form[0], []).append((form, group))
        for candidates in self._by_first.values():
            candidates.sort(key=lambda candidate: len(candidate[0]), reverse=True)

    def __len__(self) -> int:
        return len(self._groups)

    def find(self, tokens: Sequence[str]) -> list[tuple[int, int, Group]]:
        """Non-overlapping (start, end, alternatives) spans of `tokens` that are a form of some
        group, scanning left to right and taking the longest form at each position."""
        spans = []
        start = 0
        while start < len(tokens):
            for form, group in self._by_first.get(tokens[start], ()):
                end = start + len(form)
                if tuple(tokens[start:end]) == form:
                    spans.append((start, end, group))
                    start = end
                    break
            else:
                start += 1
        return spans


def _parse_line(line: str, where: str) -> Group | None:
    """The forms on one line, acronym first; None for a blank or comment line."""
    line = normalize(line).split("#", 1)[0].strip()
    if not line:
        return None
    acronym, equals, full = line.partition("=")
    forms = (_tokens(acronym), *(_tokens(text) for text in full.split("|")))
    if not equals or "=" in full or "|" in acronym or not all(forms):
        raise ValueError(f"{where}: expected 'ACRONYM = full form [| other form ...]', got {line!r}")
    return forms


def _read(path: Path) -> list[Group]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ValueError(f"cannot read acronym file {path}: {exc.strerror or exc}") from exc
    groups = (_parse_line(line, f"{path}, line {number}") for number, line in enumerate(lines, 1))
    return [group for group in groups if group is not None]


@functools.lru_cache(maxsize=1)
def _default_groups() -> tuple[Group, ...]:
    return tuple(_read(DEFAULT_FILE))


@functools.lru_cache(maxsize=1)
def _default_table() -> SynonymTable:
    return SynonymTable(_default_groups())


def load_synonyms(extra: Iterable[Path] = ()) -> SynonymTable:
    """The bundled acronyms plus those in `extra` files; the bundled table alone is shared."""
    extra = list(extra)
    if not extra:
        return _default_table()
    return SynonymTable([*_default_groups(), *(group for path in extra for group in _read(path))])
