"""News outlets as scraped text names them: a table of known outlets, and the places an
outlet is stated (a "(VTC News) -" dateline, a standalone domain line). An outlet mentioned
inside a sentence is not the article's outlet, so only these are read.
"""

from __future__ import annotations

import re

#: Outlet names by their abbreviation, domain or the name as written in a dateline (casefolded
#: keys). Only these are recognised in a lead prefix ("NDO - ") or a standalone domain line.
OUTLETS: dict[str, str] = {
    "ndo": "Nhân Dân",
    "nhân dân": "Nhân Dân",
    "nhandan.vn": "Nhân Dân",
    "nhandan.com.vn": "Nhân Dân",
    "vtc news": "VTC News",
    "vtcnews.vn": "VTC News",
    "ttxvn": "TTXVN",
    "vietnamplus.vn": "VietnamPlus",
    "vov": "VOV",
    "vov.vn": "VOV",
    "vtv": "VTV",
    "vtv.vn": "VTV",
    "tto": "Tuổi Trẻ",
    "tuoitre.vn": "Tuổi Trẻ",
    "thanhnien.vn": "Thanh Niên",
    "plo": "Pháp Luật TP.HCM",
    "plo.vn": "Pháp Luật TP.HCM",
    "nlđo": "Người Lao Động",
    "nld.com.vn": "Người Lao Động",
    "laodong.vn": "Lao Động",
    "dantri.com.vn": "Dân trí",
    "vnexpress.net": "VnExpress",
    "qđnd": "Quân đội nhân dân",
    "qdnd.vn": "Quân đội nhân dân",
    "cand": "Công an nhân dân",
    "cand.com.vn": "Công an nhân dân",
    "sggp": "Sài Gòn Giải Phóng",
    "sggp.org.vn": "Sài Gòn Giải Phóng",
    "baochinhphu.vn": "Báo Điện tử Chính phủ",
    "chinhphu.vn": "Báo Điện tử Chính phủ",
}
DOMAIN_RE = re.compile(
    r"^(?:https?://)?(?:www\.)?((?:[a-z0-9-]+\.)+(?:vn|com|net|org|gov|edu|info|biz|asia|tv|news))/?$", re.I
)


def outlet(name: str) -> str:
    """The outlet's display name: from the table when known, else as written."""
    return OUTLETS.get(name.casefold(), name)


def dateline_outlet(name: str) -> str | None:
    """The outlet of a "(Name) -" dateline; None unless the name is capitalised and has no digits
    (a lead may open with some other parenthesis)."""
    name = name.strip()
    if not name[:1].isupper() or any(char.isdigit() for char in name) or len(name.split()) > 5:
        return None
    return outlet(name)


def footer_outlet(lines: list[str]) -> str | None:
    """The outlet named by a standalone known domain line ("vtcnews.vn"), if any."""
    for line in lines:
        match = DOMAIN_RE.match(line)
        if match and match.group(1).casefold() in OUTLETS:
            return OUTLETS[match.group(1).casefold()]
    return None
