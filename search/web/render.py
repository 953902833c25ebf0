"""The HTML of the search page and the article view, rendered from the API's JSON.

Rendering goes through the same JSON the API returns, so the page can never show something
the API would not. Every piece of text is escaped with `html.escape(quote=True)` where it is
placed; the only markup taken as it comes is `title_html`, `snippet_html` and `body_html`,
which `search.highlight` builds by escaping the text and adding `<mark>` only. No template
library: the pages are small, and an f-string per part keeps each escape visible at its place.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlencode

from search.corpus import dates
from search.searching.results import MAX_RESULT_WINDOW
from search.web.chart import timeline_chart
from search.web.story_html import article_lists, hit_story

#: The parameters that make up a search page's state, in the order they appear in its URL.
STATE_PARAMS = ("q", "from", "to", "source", "sort", "per_page", "page")
#: Pages linked on each side of the current one.
PAGE_SPAN = 2

_e = html.escape

SORT_LABELS = {"relevance": "Liên quan nhất", "date": "Mới nhất"}

TIPS = """<ul class="tips">
<li>Gõ có dấu hoặc không dấu: <a href="/?q=bao+hiem+xa+hoi">bao hiem xa hoi</a> tìm thấy “bảo hiểm xã hội”.</li>
<li>Viết tắt và tên đầy đủ tìm thấy nhau: <a href="/?q=BHXH">BHXH</a>, UBND, HĐND.</li>
<li>Đặt cụm từ trong ngoặc kép để tìm đúng cụm: <a href="/?q=%22y+t%E1%BA%BF%22">"y tế"</a>.</li>
<li>Thêm dấu trừ để loại một từ: <span class="kbd">bảo hiểm -nhân thọ</span>; dùng OR giữa hai lựa chọn.</li>
<li>Số hiệu văn bản gõ như khi viết: <a href="/?q=96%2FNQ-BCS">96/NQ-BCS</a>.</li>
</ul>"""


def search_url(state: Mapping[str, str], **changes: str | None) -> str:
    """The page URL for `state` with `changes` applied; empty values are left out, and a
    change of anything but the page goes back to page 1."""
    merged: dict[str, str | None] = {k: v for k, v in state.items() if k in STATE_PARAMS}
    if "page" not in changes:
        merged.pop("page", None)
    merged.update(changes)
    query = urlencode([(k, merged[k]) for k in STATE_PARAMS if merged.get(k)])
    return "/?" + query if query else "/"


def article_url(article_id: str, q: str | None) -> str:
    """The article view, scrolled to the first highlighted word by the fragment (no script needed)."""
    path = "/read/" + quote(article_id, safe="/")
    return path + "?" + urlencode({"q": q}) + "#first-match" if q else path


def feed_url(state: Mapping[str, str]) -> str:
    """The Atom feed of the search in `state` (its query and filters, not its order or page)."""
    return "/feed?" + urlencode([(k, state[k]) for k in ("q", "source", "from", "to") if state.get(k)])


def export_url(state: Mapping[str, str]) -> str:
    """The spreadsheet of the search in `state`: its query, filters and order."""
    return "/search.csv?" + urlencode([(k, state[k]) for k in ("q", "source", "from", "to", "sort") if state.get(k)])


def _layout(title: str, body: str, page_class: str, head: str = "") -> str:
    return f"""<!doctype html>
<html lang="vi">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/style.css">{head}
<script src="/static/app.js" defer></script>
</head>
<body class="{page_class}">
{body}
</body>
</html>
"""


def _date_value(raw: str | None, end: bool) -> str:
    """A date filter as a date input shows it: "2022" becomes 2022-01-01 (or 2022-12-31)."""
    if not raw:
        return ""
    try:
        return dates.bound(raw, end).isoformat()
    except ValueError:
        return ""


def _option(value: str, label: str, selected: bool) -> str:
    return f'<option value="{_e(value)}"{" selected" if selected else ""}>{_e(label)}</option>'


def _form(state: Mapping[str, str], sources: Mapping[str, int]) -> str:
    current = state.get("source", "")
    options = [_option("", "Tất cả nguồn", not current)]
    options += [_option(name, f"{name} ({count})", name == current) for name, count in sources.items()]
    if current and current not in sources:
        options.append(_option(current, current, True))
    sort = state.get("sort", "relevance")
    sorts = "".join(_option(value, label, value == sort) for value, label in SORT_LABELS.items())
    per_page = state.get("per_page")
    hidden = f'<input type="hidden" name="per_page" value="{_e(per_page)}">' if per_page else ""
    return f"""<form id="search-form" class="search-form" action="/" method="get" role="search">{hidden}
<div class="box">
<label class="visually-hidden" for="q">Từ khóa</label>
<input id="q" name="q" type="search" value="{_e(state.get("q", ""))}" placeholder="Tìm tin, ví dụ: bảo hiểm xã hội" autocomplete="off" spellcheck="false" maxlength="500">
<button type="submit">Tìm</button>
</div>
<fieldset class="filters">
<legend class="visually-hidden">Bộ lọc</legend>
<label>Từ ngày <input name="from" type="date" value="{_e(_date_value(state.get("from"), False))}"></label>
<label>Đến ngày <input name="to" type="date" value="{_e(_date_value(state.get("to"), True))}"></label>
<label>Nguồn <select name="source">{"".join(options)}</select></label>
<label>Sắp xếp <select name="sort">{sorts}</select></label>
</fieldset>
</form>"""


def _header(state: Mapping[str, str], sources: Mapping[str, int]) -> str:
    return f"""<header class="top">
<a class="brand" href="/">vnsearch</a>
{_form(state, sources)}
</header>"""


def _when(item: Mapping[str, Any]) -> str:
    date, time = item.get("date"), item.get("time")
    return f"{date} {time}" if date and time else str(date or "")


def _hit(hit: Mapping[str, Any], q: str) -> str:
    meta = " · ".join(_e(part) for part in (_when(hit), str(hit.get("source") or "")) if part)
    return f"""<li class="hit">
<h2><a href="{_e(article_url(str(hit["id"]), q))}">{hit["title_html"]}</a></h2>
<p class="meta">{meta}</p>
<p class="snippet">{hit["snippet_html"]}</p>{hit_story(hit, q)}
</li>"""


def _pagination(state: Mapping[str, str], page: int, pages: int) -> str:
    if pages <= 1:
        return ""
    links = []
    if page > 1:
        links.append(f'<a rel="prev" data-nav href="{_e(search_url(state, page=str(page - 1)))}">‹ Trước</a>')
    for number in range(max(1, page - PAGE_SPAN), min(pages, page + PAGE_SPAN) + 1):
        if number == page:
            links.append(f'<span aria-current="page">{number}</span>')
        else:
            links.append(f'<a data-nav href="{_e(search_url(state, page=str(number)))}">{number}</a>')
    if page < pages:
        links.append(f'<a rel="next" data-nav href="{_e(search_url(state, page=str(page + 1)))}">Sau ›</a>')
    return f'<nav class="pages" aria-label="Trang kết quả">{"".join(links)}</nav>'


def _suggestion(state: Mapping[str, str], result: Mapping[str, Any]) -> str:
    """The "did you mean" line, when the API offers a corrected query."""
    suggestion = result.get("suggestion")
    if not isinstance(suggestion, str) or not suggestion:
        return ""
    return (
        f'<p class="did-you-mean">Có phải bạn muốn tìm: '
        f'<a data-nav href="{_e(search_url(state, q=suggestion))}">{_e(suggestion)}</a>?</p>'
    )


def _years(state: Mapping[str, str], years: Mapping[str, int]) -> str:
    if len(years) < 2:
        return ""
    links = "".join(
        f'<li><a data-nav href="{_e(search_url(state, **{"from": year, "to": year}))}">{_e(year)}</a> '
        f'<span class="count">{count}</span></li>'
        for year, count in years.items()
    )
    return f'<aside class="years"><h2>Theo năm</h2><ul>{links}</ul></aside>'


def _filtered(state: Mapping[str, str]) -> bool:
    return any(state.get(k) for k in ("from", "to", "source"))


def _stories(result: Mapping[str, Any], total: int) -> str:
    """ ", in 3 stories" when collapsing put several articles under one."""
    stories = result.get("total_stories")
    return f" ({int(stories)} sự kiện)" if stories is not None and int(stories) < total else ""


def _results(state: Mapping[str, str], result: Mapping[str, Any]) -> str:
    q = state["q"]
    hits = result["hits"]
    total = int(result["total"])
    if not hits:
        clear = (
            f'<li>Bỏ bộ lọc ngày và nguồn: <a data-nav href="{_e(search_url({"q": q}))}">tìm “{_e(q)}” trong mọi tin</a>.</li>'
            if _filtered(state)
            else ""
        )
        beyond = "<li>Trang này vượt quá số kết quả; quay lại trang đầu.</li>" if total else ""
        return f"""<section class="empty">
<h1>Không tìm thấy kết quả cho “{_e(q)}”</h1>
{_suggestion(state, result)}
<ul class="tips">{clear}{beyond}
<li>Kiểm tra chính tả, hoặc bớt vài từ: tin có một phần các từ cũng được tìm.</li>
<li>Gõ không dấu cũng được; viết tắt (BHXH, UBND) và tên đầy đủ tìm thấy nhau.</li>
</ul>
</section>"""
    per_page = int(result["per_page"])
    page = int(result["page"])
    listed = int(result.get("total_stories") or total)  # collapsed: pages of stories
    pages = min((listed + per_page - 1) // per_page, MAX_RESULT_WINDOW // per_page)
    first = (page - 1) * per_page + 1
    facets = result.get("facets", {})
    chart = ""
    if result.get("timeline"):
        chart = timeline_chart(result["timeline"], lambda start, end: search_url(state, **{"from": start, "to": end}))
    return f"""<p class="summary">{first}–{first + len(hits) - 1} trong {total} kết quả{_stories(result, total)} cho “{_e(q)}” <span class="took">({result["took_ms"]} ms)</span>
<span class="actions"><a class="follow" href="{_e(feed_url(state))}" type="application/atom+xml">Theo dõi</a> <a class="export" href="{_e(export_url(state))}" download>Tải CSV</a></span></p>
{_suggestion(state, result)}
{chart}
<div class="columns">
<ol class="hits" start="{first}">
{"".join(_hit(hit, q) for hit in hits)}
</ol>
{_years(state, facets.get("year", {}))}
</div>
{_pagination(state, page, pages)}"""


def search_page(state: Mapping[str, str], result: Mapping[str, Any] | None, error: str | None = None) -> str:
    """The search page: the form, and the results, an error or (without a query) how to search.

    The results live in `<main id="results">`: the script swaps just that element (and the
    form's outlet list) when it fetches the next state, so both paths render the same HTML.
    """
    q = state.get("q", "")
    sources = result.get("facets", {}).get("source", {}) if result else {}
    if error:
        main = f'<p class="error" role="alert">{_e(error)}</p>'
    elif result is None:
        main = f"""<section class="welcome">
<h1>Tìm trong kho tin tức tiếng Việt</h1>
{TIPS}
</section>"""
    else:
        main = _results(state, result)
    title = f"{q} – vnsearch" if q else "vnsearch – tìm kiếm tin tức"
    head = ""
    if q.strip():
        head = f'\n<link rel="alternate" type="application/atom+xml" title="{_e(title)}" href="{_e(feed_url(state))}">'
    return _layout(
        title,
        f"""{_header(state, sources)}
<main id="results" aria-live="polite">
{main}
</main>""",
        "search",
        head,
    )


def article_page(article: Mapping[str, Any], q: str | None, related: Sequence[Mapping[str, Any]] | None = None) -> str:
    """An article, its query words marked; the first mark carries `id="first-match"` so the
    link's fragment scrolls to it. Below it, its story's other articles and related coverage."""
    title_html = article.get("title_html") or _e(str(article["title"]))
    if article.get("body_html") is not None:
        body_html = str(article["body_html"]).replace("<mark>", '<mark id="first-match">', 1)
    else:
        body_html = _e(str(article["body"]))
    meta = [
        _e(part)
        for part in (_when(article), str(article.get("source") or ""), str(article.get("author") or ""))
        if part
    ]
    url = str(article.get("url") or "")
    if url.startswith(("https://", "http://")):
        meta.append(f'<a href="{_e(url)}" rel="noopener noreferrer nofollow">Bài gốc</a>')
    back = search_url({"q": q}) if q else "/"
    return _layout(
        f"{article['title']} – vnsearch",
        f"""<header class="top">
<a class="brand" href="/">vnsearch</a>
<a class="back" href="{_e(back)}">‹ Quay lại kết quả</a>
</header>
<main class="article">
<article>
<h1>{title_html}</h1>
<p class="meta">{" · ".join(meta)}</p>
<div class="body">{body_html}</div>
</article>
{article_lists(article, related or [], q)}
</main>""",
        "read",
    )
