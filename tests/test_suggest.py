import threading
from pathlib import Path

import pytest

from search.corpus.article import Article
from search.index.engine import readers
from search.index.indexer import build
from search.index.store import open_index
from search.searching import suggest_live
from search.searching.suggest import Part, Snapshot, Suggester, key, prefix_key
from search.searching.suggest_live import LiveSuggester, build_in_child, read_segment

TITLES = [
    ("a", "Tăng cường tuyên truyền chính sách bảo hiểm xã hội", "2022-05-01"),
    ("b", "Bảo hiểm xã hội tỉnh Quảng Ngãi tổng kết năm", "2023-01-02"),
    ("c", "Người dân tham gia bảo hiểm y tế", "2021-07-09"),
    ("d", "Nghị quyết 96/NQ-BCS về truyền thông", None),
    ("e", "Bảo hiểm xã hội, bảo hiểm y tế: kết quả", "2020-01-01"),
    ("f", "Quảng Ngãi mưa lớn", "2019-01-01"),
]


@pytest.fixture(scope="module")
def suggester() -> Suggester:
    return Suggester(TITLES)


def texts(suggestions, kind=None):
    return [s.text for s in suggestions if kind is None or s.kind == kind]


def test_prefix_without_diacritics_suggests_the_accented_phrase(suggester):
    phrases = texts(suggester.suggest("bao hi"), "phrase")
    assert "bảo hiểm xã hội" in phrases and "bảo hiểm y tế" in phrases
    assert phrases == texts(suggester.suggest("BẢO HI"), "phrase") == texts(suggester.suggest("bảo hi"), "phrase")


def test_phrases_rank_by_how_many_titles_hold_them(suggester):
    assert texts(suggester.suggest("bao"), "phrase")[:2] == ["bảo hiểm", "bảo hiểm xã hội"]


def test_the_written_form_is_kept_and_lower_case_preferred(suggester):
    assert "Quảng Ngãi" in texts(suggester.suggest("quang ng"))
    assert "Bảo hiểm xã hội" not in texts(suggester.suggest("bao hiem"), "phrase")


def test_fragments_and_function_word_edges_are_not_offered(suggester):
    # "hiểm xã" only ever stands before "hội"; "về truyền" starts with a function word.
    assert texts(suggester.suggest("hiem xa"), "phrase")[0] == "hiểm xã hội"
    assert "hiểm xã" not in texts(suggester.suggest("hiem xa"))
    assert texts(suggester.suggest("ve tr"), "phrase") == []


def test_a_phrase_does_not_cross_punctuation_but_keeps_document_numbers(suggester):
    assert "xã hội, bảo hiểm" not in " | ".join(texts(suggester.suggest("xa hoi"), "phrase"))
    assert texts(suggester.suggest("96/nq"), "phrase")[0] == "96/NQ-BCS"
    assert texts(suggester.suggest("96 nq b"), "phrase")[0] == "96/NQ-BCS"


def test_titles_match_from_their_start_newest_first(suggester):
    titles = suggester.suggest("bao hiem xa hoi")
    assert [s.id for s in titles if s.kind == "title"] == ["b", "e"]
    assert titles[-1].to_json() == {"text": TITLES[4][1], "kind": "title", "id": "e"}


def test_a_finished_word_is_not_completed(suggester):
    assert texts(suggester.suggest("tang")) and not texts(suggester.suggest("tan "))
    assert prefix_key("bao ") == "bao " and prefix_key("bao") == "bao" and key("Bảo  Hiểm!") == "bao hiem"


def test_nothing_typed_or_nothing_matching(suggester):
    assert suggester.suggest("") == [] and suggester.suggest("  ,") == []
    assert suggester.suggest("zzzz") == []


def test_limit_applies_to_each_kind(suggester):
    result = suggester.suggest("b", limit=1)
    assert [s.kind for s in result] == ["phrase", "title"]


def test_short_and_long_prefixes_rank_alike():
    many = [
        (str(i), f"Giá vàng {word} {i}", f"2020-01-{i % 28 + 1:02d}")
        for i, word in enumerate(["tăng", "giảm", "đứng", "lên"] * 10)
    ]
    many += [(f"x{i}", f"Giá xăng giảm {i}", None) for i in range(5)]
    suggester = Suggester(many)
    assert texts(suggester.suggest("g"), "phrase")[0] == texts(suggester.suggest("gia v"), "phrase")[0] == "giá vàng"


def test_reads_every_title_of_a_segment_from_the_index(web_index_dir: Path):
    with open_index(web_index_dir).reader() as reader:
        rows = [row for leaf, _, _, _ in readers.leaves(reader) for row in read_segment(leaf)]
    assert len(rows) == 6 and all(isinstance(title, str) and title for _, title, _ in rows)


def test_large_segments_are_built_in_a_child_process(web_index_dir: Path, tmp_path: Path):
    with open_index(web_index_dir).reader() as reader:
        segids = [segid for _, _, segid, _ in readers.leaves(reader)]
    built = build_in_child(web_index_dir, [*segids, "no-such-segment"])
    assert sorted(built) == sorted(segids)
    snapshot = Snapshot([Part(tables) for tables in built.values()])
    assert "bảo hiểm xã hội" in texts(snapshot.suggest("bao hi"), "phrase")
    with pytest.raises(RuntimeError, match="no index"):
        build_in_child(tmp_path, segids)


def _reader(index_dir: Path):
    return open_index(index_dir).reader()


def test_large_segments_are_built_in_the_background(seed_copy: Path):
    """The previous snapshot answers while a large segment is built; a small one is built in
    the request that meets it."""
    release = threading.Event()
    calls: list[list[str]] = []

    def large(index_dir: Path, segids):
        calls.append(list(segids))
        if len(calls) > 1:
            release.wait(5)
        return build_in_child(index_dir, segids)

    live = LiveSuggester(seed_copy, large, inline_docs=1)
    first = live.get(_reader(seed_copy), wait=60)
    assert first is not None and texts(first.suggest("bao hi"), "phrase")
    build(seed_copy, [Article(id="new", title="Bản tin số một", body="Nội dung.")], keep_missing=True)
    assert live.get(_reader(seed_copy)) is not first  # one article: built inline, at once
    assert texts(live.get(_reader(seed_copy)).suggest("ban tin"), "title") == ["Bản tin số một"]
    build(
        seed_copy,
        [Article(id=f"n{i}", title=f"Bản tin số {i}", body="Nội dung.") for i in range(2, 5)],
        keep_missing=True,
    )
    before = live.get(_reader(seed_copy))
    assert before is not None and texts(before.suggest("ban tin"), "title") == ["Bản tin số một"]
    release.set()
    for _ in range(300):
        now = live.get(_reader(seed_copy))
        if now is not before:
            break
        threading.Event().wait(0.05)
    assert len(texts(now.suggest("ban tin"), "title")) == 4 and len(calls) == 2


def test_before_the_first_build_is_ready_the_answer_is_none(seed_copy: Path):
    release = threading.Event()

    def slow(index_dir: Path, segids):
        release.wait(5)
        return build_in_child(index_dir, segids)

    live = LiveSuggester(seed_copy, slow, inline_docs=0)
    assert live.get(_reader(seed_copy), wait=0.05) is None
    release.set()
    assert live.get(_reader(seed_copy), wait=60) is not None


def test_a_failed_build_is_retried_only_after_a_pause(monkeypatch, seed_copy: Path):
    calls: list[int] = []

    def broken(index_dir: Path, segids):
        calls.append(1)
        raise RuntimeError("index switched away")

    monkeypatch.setattr(threading, "excepthook", lambda args: None)
    monkeypatch.setattr(suggest_live, "RETRY_SECONDS", 0.3)
    live = LiveSuggester(seed_copy, broken, inline_docs=0)
    assert live.get(_reader(seed_copy), wait=5) is None
    assert live.get(_reader(seed_copy), wait=5) is None
    assert len(calls) == 1
    threading.Event().wait(0.4)
    assert live.get(_reader(seed_copy), wait=5) is None and len(calls) == 2


def test_the_most_common_written_form_is_shown_in_sentence_case():
    rows = [
        ("1", "nguyên nhân cháy", None),
        ("2", "Nguyễn Thành thắng", None),
        ("3", "Nguyễn Thành thua", None),
        ("4", "Ông Nguyễn Thành nói", None),
        ("5", "Thủ tướng Chính phủ họp", None),
        ("6", "BHXH tỉnh họp", None),
        ("7", "BHXH tỉnh thu", None),
    ]
    suggester = Suggester(rows)
    assert texts(suggester.suggest("nguyen th"), "phrase")[0] == "Nguyễn Thành"
    assert texts(suggester.suggest("thu tuong chinh"), "phrase")[0] == "Thủ tướng Chính phủ"
    assert texts(suggester.suggest("bhxh t"), "phrase")[0] == "BHXH tỉnh"
    assert (
        texts(Suggester([("1", "Giá vàng tăng", None), ("2", "Giá vàng giảm", None)]).suggest("gia"), "phrase")[0]
        == "giá vàng"
    )


def test_function_words_are_told_apart_by_their_diacritics():
    suggester = Suggester(
        [
            ("1", "Cơ quan thuế họp", None),
            ("2", "Cơ quan chức năng", None),
            ("3", "Tủ lạnh giá rẻ", None),
            ("4", "Tủ lạnh mới", None),
            ("5", "Có người nói", None),
        ]
    )
    assert texts(suggester.suggest("co q"), "phrase")[0] == "cơ quan"
    assert texts(suggester.suggest("tu l"), "phrase")[0] == "tủ lạnh"
    assert not [t for t in texts(suggester.suggest("co ng"), "phrase") if t.startswith("Có")]
