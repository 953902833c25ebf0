"""A time budget for one search: past it, the search stops and answers with what it has.

A query over the most frequent syllables walks most of the postings of a large archive; without
a bound, a few such requests hold every worker. Whoosh's `TimeLimitCollector` starts a timer
thread per search and, on Unix, takes over SIGALRM (the process's, not just this request's), and
it only works at the top of the collector chain, where a filter collector does the looping
itself. This module's collector instead sits at the bottom of the chain, just above the one that
scores, and checks a monotonic clock for every match it passes up: no thread, no signal, and
filters, masks and facets wrap it as they would the scorer. A collector cut short still returns
the documents it collected (Whoosh's results are built from what was gathered), so the caller
gets a partial page instead of an error.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from whoosh.collectors import (
    FacetCollector,
    FilterCollector,
    TimeLimit,
    WrappingCollector,
)
from whoosh.query import Query
from whoosh.searching import Results, Searcher


class DeadlineCollector(WrappingCollector):
    """Passes matches through until the monotonic clock reaches `deadline`, then raises
    `TimeLimit`; what was collected so far stays in the wrapped collector."""

    def __init__(self, child: WrappingCollector, deadline: float, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(child)
        self.deadline = deadline
        self.clock = clock

    def computes_count(self) -> bool:
        # WrappingCollector leaves this to Collector's default (True), which would make a
        # FilterCollector above count the unfiltered matches.
        return self.child.computes_count()

    def matches(self) -> Iterator[int]:
        clock, deadline = self.clock, self.deadline
        for sub_docnum in self.child.matches():
            if clock() >= deadline:
                raise TimeLimit
            yield sub_docnum

    def collect_matches(self) -> None:
        collect = self.child.collect
        for sub_docnum in self.matches():
            collect(sub_docnum)


class Budget:
    """The time left for one request's searches, and whether any of them was cut short.

    `seconds=None` means no limit: the searches run exactly as `Searcher.search` would.
    """

    def __init__(self, seconds: float | None, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.deadline = None if seconds is None else clock() + seconds
        self.partial = False

    def search(
        self,
        searcher: Searcher,
        q: Query,
        limit: int | None = 10,
        groupedby=None,
        filter: Query | None = None,
        mask: Query | None = None,
        **kwargs: object,
    ) -> Results:
        """`searcher.search(q, ...)` within the budget: the same collector chain as Whoosh's
        `Searcher.collector`, with the deadline inserted above the scoring collector."""
        if self.deadline is None:
            return searcher.search(q, limit=limit, groupedby=groupedby, filter=filter, mask=mask, **kwargs)
        # Facets must see every match, which is what Whoosh's collector() does for groupedby.
        collector = searcher.collector(limit=None if groupedby else limit, **kwargs)
        collector = DeadlineCollector(collector, self.deadline, self.clock)
        if groupedby:
            collector = FacetCollector(collector, groupedby)
        if filter is not None or mask is not None:
            collector = FilterCollector(collector, filter, mask)
        try:
            searcher.search_with_collector(q, collector)
        except TimeLimit:
            self.partial = True
        return collector.results()
