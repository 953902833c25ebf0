"""End to end in headless Chromium: the page, the article view and the widget on another origin.

Runs Debian's chromium (`/usr/bin/chromium`, or `VNSEARCH_CHROMIUM`) through the `playwright`
package against a real gunicorn serving a small index (the seed corpus and the XSS article).
Without chromium these tests skip, except under CI, where a missing browser is a failure.
Screenshots of the page, the article view and the widget go to `screenshots/` for a person to
look at.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import ROOT, XSS_ARTICLE, gunicorn

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path(os.environ.get("VNSEARCH_CHROMIUM", "/usr/bin/chromium"))
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = ROOT / "screenshots"
TIMEOUT_MS = 10_000


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"browser tests cannot run under CI: {reason}")
    pytest.skip(reason)


try:
    from playwright.sync_api import Locator, Page, expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
except ImportError:  # pragma: no cover - the test extra installs it
    sync_playwright = None


@pytest.fixture(scope="module")
def browser():
    if sync_playwright is None:
        _unavailable("the playwright package is not installed (pip install -e '.[test]')")
    if not CHROMIUM.exists():
        _unavailable(f"no chromium at {CHROMIUM} (apt-get install chromium, or set VNSEARCH_CHROMIUM)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        yield browser
        browser.close()


class HostPage(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def _site(root: Path) -> Iterator[tuple[Path, str]]:
    """A static site serving `root` on its own origin: (root, origin)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(HostPage, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory):
    """Another site (another origin), listed in VNSEARCH_CORS_ORIGINS: a plain page that
    embeds the widget, with CSS that would restyle the widget if it could reach into it."""
    with _site(tmp_path_factory.mktemp("host")) as site:
        yield site


@pytest.fixture(scope="module")
def unlisted_host(tmp_path_factory: pytest.TempPathFactory):
    """A site whose origin is not listed."""
    with _site(tmp_path_factory.mktemp("unlisted")) as site:
        yield site


@pytest.fixture(scope="module")
def service(web_index_dir: Path, host, tmp_path_factory: pytest.TempPathFactory):
    """gunicorn serving the web index, with the host page's origin allowed for CORS."""
    _, host_origin = host
    with gunicorn(
        tmp_path_factory.mktemp("home"), VNSEARCH_INDEX_DIR=str(web_index_dir), VNSEARCH_CORS_ORIGINS=host_origin
    ) as base:
        yield base


@pytest.fixture
def page(browser, request):
    """A fresh page that records dialogs, uncaught errors and console errors; a test fails if
    anything it did raised a dialog (an injected alert would)."""
    context = browser.new_context(viewport={"width": 1100, "height": 800}, locale="vi-VN")
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.dialogs, page.errors = [], []
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.on("console", lambda msg: msg.type == "error" and page.errors.append(msg.text))
    yield page
    context.close()


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=False)


def assert_inert(page: Page) -> None:
    assert page.dialogs == []
    assert page.evaluate("() => window.__xss") is None
    assert page.locator("img").count() == 0  # playwright's CSS engine looks inside shadow roots too
    assert page.locator("script:not([src])").count() == 0


def test_type_without_diacritics_filter_by_outlet_and_open_an_article(page, service):
    page.goto(service + "/")
    page.evaluate("() => { window.__sameDocument = true; }")
    page.locator("#q").press_sequentially("bao hiem xa hoi", delay=40)
    expect(page.locator("#results mark").first).to_have_text("bảo hiểm xã hội", ignore_case=True)
    expect(page).to_have_url(service + "/?q=bao+hiem+xa+hoi")
    assert page.evaluate("() => window.__sameDocument") is True  # no page load while typing
    hits = page.locator(".hit")
    everything = hits.count()
    assert everything >= 4
    shot(page, "search-page.png")

    page.select_option("select[name=source]", "VTC News")
    expect(hits).to_have_count(1)
    expect(page).to_have_url(service + "/?q=bao+hiem+xa+hoi&source=VTC+News")
    expect(hits.first.locator("h2")).to_contain_text("Nghị quyết 96/NQ-BCS")
    assert page.evaluate("() => window.__sameDocument") is True

    page.go_back()  # the state lives in the URL: Back shows every outlet again
    expect(page).to_have_url(service + "/?q=bao+hiem+xa+hoi")
    expect(page.locator("select[name=source]")).to_have_value("")
    expect(hits).to_have_count(everything)

    page.select_option("select[name=source]", "VTC News")
    expect(hits).to_have_count(1)
    hits.first.locator("h2 a").click()
    expect(page).to_have_url(service + "/read/003_50a1d9bb06e22414?q=bao+hiem+xa+hoi#first-match")
    first = page.locator("#first-match")
    expect(first).to_have_text(re.compile("bảo hiểm xã hội|BHXH", re.IGNORECASE))  # acronyms match too
    expect(first).to_be_in_viewport()
    assert page.locator(".body mark").count() > 1
    shot(page, "article.png")
    assert page.errors == []


def test_the_page_works_without_javascript(browser, service):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(service + "/")
    page.fill("#q", "quang ngai")
    page.press("#q", "Enter")
    expect(page).to_have_url(service + "/?q=quang+ngai&from=&to=&source=&sort=relevance")
    expect(page.locator(".hit mark").first).to_have_text("Quảng Ngãi")
    page.locator(".hit h2 a").first.click()
    expect(page.locator("#first-match")).to_be_in_viewport()
    page.goto(service + "/?q=vssid&source=VTC+News")
    page.get_by_role("link", name="tìm “vssid” trong mọi tin").click()
    expect(page).to_have_url(service + "/?q=vssid")
    expect(page.locator(".hit mark").first).to_have_text("VssID")
    page.goto(service + "/?q=xyzzy+qwerty&from=2022&to=2022")
    expect(page.locator(".empty h1")).to_have_text("Không tìm thấy kết quả cho “xyzzy qwerty”")
    shot(page, "empty-state.png")
    context.close()


def test_readable_on_a_phone(browser, service):
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    page.goto(service + "/?q=bhxh")
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    assert page.evaluate("() => parseFloat(getComputedStyle(document.querySelector('.snippet')).fontSize)") >= 15
    shot(page, "search-phone.png")
    context.close()


def write_host_page(root: Path, service: str) -> None:
    (root / "index.html").write_text(
        f"""<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><title>Báo Địa Phương</title><link rel="icon" href="data:,">
<style>
  body {{ font-family: Georgia, serif; color: #700; margin: 2rem; background: #fffbe8; }}
  input, button, li, mark, a {{ background: red !important; font-size: 40px !important; }}
</style>
<script src="{service}/widget.js" defer></script>
</head><body>
<h1>Báo Địa Phương</h1>
<p>Tìm trong kho tin:</p>
<vnsearch-box></vnsearch-box>
<p>Nội dung khác của trang.</p>
</body></html>
""",
        encoding="utf-8",
    )


def open_widget(page: Page, service: str, host: tuple[Path, str]) -> Locator:
    """The widget's input, on a page of the host origin `host` (its folder and origin)."""
    root, origin = host
    write_host_page(root, service)
    page.goto(origin + "/index.html")
    return page.get_by_role("combobox")


def arrow_to(box: Locator, options: Locator, text: str) -> None:
    """Down the suggestions with the keyboard until the one reading `text` is chosen."""
    for _ in range(options.all_inner_texts().index(text) + 1):
        box.press("ArrowDown")


def test_widget_on_another_origin_with_the_keyboard(page, service, host):
    box = open_widget(page, service, host)
    expect(box).to_have_attribute("aria-expanded", "false")
    box.press_sequentially("bao hi", delay=40)
    listbox = page.get_by_role("listbox")
    expect(listbox).to_be_visible()
    expect(box).to_have_attribute("aria-expanded", "true")
    options = page.get_by_role("option")
    expect(options.filter(has_text="bảo hiểm xã hội")).to_have_count(1)
    arrow_to(box, options, "bảo hiểm xã hội")
    selected = page.locator("[role=option][aria-selected=true]")
    expect(selected).to_have_text("bảo hiểm xã hội")
    expect(box).to_have_attribute("aria-activedescendant", selected.get_attribute("id"))
    # The host's `background: red !important` and 40px fonts do not reach inside.
    assert page.evaluate("""() => {
        const input = document.querySelector('vnsearch-box').shadowRoot.querySelector('input');
        const style = getComputedStyle(input);
        return style.backgroundColor !== 'rgb(255, 0, 0)' && parseFloat(style.fontSize) < 20;
    }""")
    shot(page, "widget-suggestions.png")

    box.press("Enter")
    expect(box).to_have_value("bảo hiểm xã hội")
    expect(listbox).to_be_hidden()
    results = page.get_by_role("region", name="Kết quả")
    expect(results.locator(".hit").first).to_be_visible()
    expect(results.locator("mark").first).to_have_text("bảo hiểm xã hội", ignore_case=True)
    link = results.locator(".hit a").first
    assert link.get_attribute("href").startswith(service + "/read/")
    shot(page, "widget-results.png")

    box.press("Escape")
    expect(results).to_be_hidden()
    box.press("Escape")
    expect(box).to_have_value("")
    assert page.errors == []


def test_a_late_answer_keeps_the_option_chosen_and_typing_leaves_it(page, service, host):
    box = open_widget(page, service, host)
    box.press_sequentially("bao hi", delay=40)
    options = page.get_by_role("option")
    expect(options.filter(has_text="bảo hiểm xã hội")).to_have_count(1)
    arrow_to(box, options, "bảo hiểm xã hội")
    selected = page.locator("[role=option][aria-selected=true]")
    expect(selected).to_have_text("bảo hiểm xã hội")
    # An answer that comes late (the one for the last keystroke, after the arrows were used)
    # redraws the list the way the widget does with every answer, its order changed.
    page.evaluate("""() => {
        const box = document.querySelector('vnsearch-box');
        const texts = box.options.map(o => ({text: o.textContent, kind: o.className})).reverse();
        box.showOptions([{text: 'bao hiem moi', kind: 'word'}, ...texts]);
    }""")
    expect(options.first).to_have_text("bao hiem moi")
    expect(selected).to_have_text("bảo hiểm xã hội")
    expect(box).to_have_attribute("aria-activedescendant", selected.get_attribute("id"))
    # Typing after the arrows leaves the list at once (before any answer): Enter would search
    # what was typed.
    box.press("Space")
    assert selected.count() == 0
    assert box.get_attribute("aria-activedescendant") is None
    box.press("Backspace")
    expect(options.filter(has_text="bảo hiểm xã hội")).to_have_count(1)
    arrow_to(box, options, "bảo hiểm xã hội")
    box.press("Enter")
    expect(box).to_have_value("bảo hiểm xã hội")
    assert page.errors == []


def test_the_xss_article_stays_inert_in_the_page_the_article_and_the_widget(page, service, host):
    page.goto(service + "/")
    page.locator("#q").press_sequentially("tin doc bao hiem", delay=20)
    title = page.locator(".hit h2").first
    expect(title).to_contain_text("<script>alert('title')</script>")
    expect(title).to_contain_text("</mark><img src=x onerror=alert(1)>")
    expect(page.locator(".hit .meta").first).to_contain_text('<i>Báo "Độc"</i>')
    assert_inert(page)

    page.locator(".hit h2 a").first.click()
    expect(page.locator("article h1")).to_contain_text("<script>alert('title')</script>")
    expect(page.locator(".body")).to_contain_text('<img src=x onerror="window.__xss = 2">')
    expect(page.locator("#first-match")).to_be_in_viewport()
    page.locator(".body").hover()
    assert_inert(page)
    assert page.get_by_role("link", name="link").count() == 0
    shot(page, "xss-article.png")

    box = open_widget(page, service, host)
    box.press_sequentially("tin doc", delay=20)
    expect(page.get_by_role("option").filter(has_text=XSS_ARTICLE.title)).to_have_count(1)
    box.press("Enter")
    widget_title = page.get_by_role("region", name="Kết quả").locator(".hit a").first
    expect(widget_title).to_contain_text("</mark><img src=x onerror=alert(1)>")
    page.get_by_role("region", name="Kết quả").hover()
    assert_inert(page)
    assert page.errors == []


def test_the_widget_on_an_unlisted_origin_gets_nothing(page, service, unlisted_host):
    box = open_widget(page, service, unlisted_host)
    box.press_sequentially("bao hi", delay=20)
    box.press("Enter")
    results = page.get_by_role("region", name="Kết quả")
    expect(results).to_contain_text("Không tìm được")  # the browser refused the answer (no CORS header)
    expect(page.get_by_role("option")).to_have_count(0)
    assert any("CORS" in error for error in page.errors)


def test_pagination_without_reloading_and_back(page, service):
    page.goto(service + "/?q=bao+hiem&per_page=2")
    page.evaluate("() => { window.__sameDocument = true; }")
    first_titles = page.locator(".hit h2").all_inner_texts()
    page.get_by_role("link", name="Sau ›").click()
    expect(page).to_have_url(service + "/?q=bao+hiem&per_page=2&page=2")
    expect(page.locator(".pages [aria-current=page]")).to_have_text("2")
    assert page.locator(".hit h2").all_inner_texts() != first_titles
    page.go_back()
    expect(page.locator(".pages [aria-current=page]")).to_have_text("1")
    assert page.locator(".hit h2").all_inner_texts() == first_titles
    assert page.evaluate("() => window.__sameDocument") is True
    assert page.errors == []


@pytest.fixture(scope="module")
def timeline_service(tmp_path_factory: pytest.TempPathFactory):
    """gunicorn serving real dated articles (tests/data/ktlab-sample.jsonl) and the seeds."""
    from search.corpus.files import iter_corpus
    from search.index.indexer import build
    from tests.conftest import CORPUS

    index_dir = tmp_path_factory.mktemp("timeline-index")
    build(index_dir, [*iter_corpus([ROOT / "tests" / "data" / "ktlab-sample.jsonl", CORPUS]), XSS_ARTICLE])
    with gunicorn(tmp_path_factory.mktemp("timeline-home"), VNSEARCH_INDEX_DIR=str(index_dir)) as base:
        yield base


TIMELINE_QUERY = "/?q=Pakistan+OR+v%C3%A0ng+OR+Kim+Tu%E1%BA%A5n+OR+Linh+%C4%90%C3%A0m+OR+b%E1%BA%A3o+hi%E1%BB%83m"


def test_the_timeline_chart_at_desktop_and_phone_widths(browser, timeline_service):
    context = browser.new_context(viewport={"width": 1100, "height": 800}, locale="vi-VN")
    page = context.new_page()
    page.goto(timeline_service + TIMELINE_QUERY)
    chart = page.locator("svg.timeline-chart")
    expect(chart).to_be_visible()
    assert "nhiều nhất" in chart.get_attribute("aria-label")
    assert page.locator("svg.timeline-chart rect.bar").count() >= 3
    expect(page.locator(".undated")).to_contain_text("không rõ ngày")
    shot(page, "timeline-desktop.png")
    bar = page.locator("svg.timeline-chart a").first
    bar.focus()  # keyboard reachable: a focused bar opens on Enter
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"from=.*to="))
    expect(page.locator("svg.timeline-chart")).to_be_visible()  # the chart follows the filters
    context.close()
    phone = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True)
    page = phone.new_page()
    page.goto(timeline_service + TIMELINE_QUERY)
    expect(page.locator("svg.timeline-chart")).to_be_visible()
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    box = page.locator("svg.timeline-chart").bounding_box()
    assert box is not None and box["width"] <= 390 and box["height"] >= 40
    shot(page, "timeline-phone.png")
    phone.close()


def test_the_timeline_chart_without_javascript(browser, timeline_service):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(timeline_service + TIMELINE_QUERY)
    page.locator("svg.timeline-chart a").first.click()
    page.wait_for_url(re.compile(r"from=.*to="))
    assert page.locator("ol.hits li").count() >= 1
    context.close()


STORY_QUERY = "/?q=Nga+n%E1%BB%95+tr%E1%BA%A1i+l%C3%ADnh"


@pytest.mark.parametrize("javascript", [True, False])
def test_a_story_opens_by_keyboard_and_its_articles_link_to_each_other(browser, timeline_service, javascript):
    """A collapsed hit's "Cùng sự kiện" line is a <details>: Enter on its focused summary opens
    it with or without JavaScript; the article view lists the story and related coverage."""
    context = browser.new_context(
        viewport={"width": 1100, "height": 800}, locale="vi-VN", java_script_enabled=javascript
    )
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(timeline_service + STORY_QUERY)
    story = page.locator(".hit details.story").first
    summary = story.locator("summary")
    expect(summary).to_have_text(re.compile(r"^Cùng sự kiện: 3 bài \(.+, …\)$"))
    links = story.locator("ul a")
    expect(links.first).not_to_be_visible()
    summary.focus()
    page.keyboard.press("Enter")
    expect(links).to_have_count(2)
    expect(links.first).to_be_visible()
    if javascript:
        shot(page, "story-open.png")
    links.first.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/read/ktlab-"))
    expect(page.locator("#story-heading")).to_have_text("Cùng sự kiện (3 bài)")
    expect(page.locator(".story-articles li")).to_have_count(2)
    expect(page.locator("#related-heading")).to_have_text("Bài liên quan")
    assert page.locator(".related li").count() >= 3
    if javascript:
        page.locator(".story-articles").scroll_into_view_if_needed()
        shot(page, "story-article.png")
    context.close()
