"""The one place that extends Whoosh beyond its public interface: our codec (the on-disk format
of postings, terms and stored fields), the writers that keep postings in a memory pool, and the
readers the evaluator and searcher use (per-document arrays, posting lists as numpy arrays,
refreshed searchers). Everything else in the package uses Whoosh's public API only.

These modules read and override Whoosh's private names (`_perdoc`, `_terms`, `_lenfield`,
`_finalize_segment`, W3's term-info fields...), which change between releases without notice:
importing this package checks that Whoosh is the release they were written for and refuses to
load otherwise, and a test checks that every private name used here exists in that release.
"""

from __future__ import annotations

import whoosh

#: The Whoosh release (whoosh-reloaded) whose internals the engine was written against.
WHOOSH_VERSION = (2, 7, 5)


class WhooshVersionError(ImportError):
    """The installed Whoosh is not the release the engine was written for."""


if tuple(whoosh.__version__[:3]) != WHOOSH_VERSION:
    raise WhooshVersionError(
        f"vnsearch's index engine needs whoosh-reloaded {'.'.join(map(str, WHOOSH_VERSION))}, found "
        f"{'.'.join(map(str, whoosh.__version__))}: install the pinned version "
        "(pip install -c constraints.txt -e .)"
    )
