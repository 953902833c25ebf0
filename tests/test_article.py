import dataclasses
import hashlib
import re

import pytest

from search.corpus.article import Article

BASE = Article(
    id="a1",
    title="Bảo hiểm y tế",
    body="Đoạn một.\n\nĐoạn hai.",
    date="2022-05",
    source="Nhân Dân",
    author="Mạnh Toàn",
    url="https://nhandan.vn/a1",
    topic="xã hội",
    path="sub/a1.txt",
)


def test_content_hash_is_sha256_hex_and_stable():
    digest = BASE.content_hash
    assert re.fullmatch(r"[0-9a-f]{64}", digest)
    assert digest == BASE.content_hash
    assert digest == dataclasses.replace(BASE).content_hash


def test_content_hash_is_the_same_in_every_process():
    """Stored in the index and compared on the next run: it must not depend on the process
    (no hash() randomisation, no dict order), so it is pinned to its canonical JSON."""
    canonical = (
        '{"author":null,"body":"B","date":null,"id":"x","source":null,"time":null,"title":"T","topic":null,"url":null}'
    )
    assert Article(id="x", title="T", body="B").content_hash == hashlib.sha256(canonical.encode()).hexdigest()
    assert Article(id="x", title="T", body="B").content_hash == (
        "98826eef68d33f575a2b9260145043113b7ae6bc016b9b58188b8785992f68ca"
    )


@pytest.mark.parametrize(
    "field, value",
    [
        ("id", "a2"),
        ("title", "Bảo hiểm xã hội"),
        ("body", "Đoạn một.\n\nĐoạn ba."),
        ("body", "Đoạn một.\nĐoạn hai."),
        ("date", "2022-05-01"),
        ("date", None),
        ("source", "VTC News"),
        ("author", None),
        ("author", ""),
        ("url", "https://nhandan.vn/a2"),
        ("topic", "y tế"),
    ],
)
def test_content_hash_changes_with_any_content_field(field, value):
    assert dataclasses.replace(BASE, **{field: value}).content_hash != BASE.content_hash


def test_content_hash_ignores_path():
    assert dataclasses.replace(BASE, path="elsewhere/a1.txt").content_hash == BASE.content_hash
    assert dataclasses.replace(BASE, path=None).content_hash == BASE.content_hash


def test_content_hash_does_not_mix_up_fields():
    one = Article(id="x", title="ab", body="")
    other = Article(id="x", title="a", body="b")
    assert one.content_hash != other.content_hash
    swapped = Article(id="x", title="T", body="B", source="S", author=None)
    assert swapped.content_hash != Article(id="x", title="T", body="B", source=None, author="S").content_hash


def test_article_is_frozen_with_optional_fields_defaulting_to_none():
    article = Article(id="x", title="T", body="B")
    assert (article.date, article.source, article.author, article.url, article.topic, article.path) == (None,) * 6
    with pytest.raises(dataclasses.FrozenInstanceError):
        article.title = "other"  # type: ignore[misc]
