"""HTML mail: sanitised for display, and turned into plain text for search and quoting.

Sanitising is nh3 (ammonia, in Rust): fast and maintained by people who think about XSS all day.
Images are kept only when they travel inside the mail (cid: parts, data: URIs): a remote image
tells its sender when and where the mail was read, which a help desk must not leak.
"""

from __future__ import annotations

import hashlib
import inspect
import re
from html import unescape
from html.parser import HTMLParser
from urllib.parse import unquote

import nh3

_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "center", "cite", "code", "col",
    "colgroup", "dd", "del", "div", "dl", "dt", "em", "font", "h1", "h2", "h3", "h4", "h5",
    "h6", "hr", "i", "img", "ins", "kbd", "li", "ol", "p", "pre", "q", "s", "samp", "small",
    "span", "strike", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead",
    "tr", "tt", "u", "ul", "var",
}  # fmt: skip
_CELL = {"align", "valign", "colspan", "rowspan"}
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": _CELL,
    "th": _CELL,
    "table": {"border", "cellpadding", "cellspacing", "width"},
    "ol": {"start"},
    "font": {"color"},
}
_SCHEMES = {"http", "https", "mailto", "ftp", "cid", "data"}
_DROPPED_WITH_CONTENT = {"script", "style", "title", "textarea", "select"}
_LINK_REL = "noopener noreferrer"


def _attribute_filter(tag: str, attribute: str, value: str) -> str | None:
    lowered = value.strip().lower()
    if attribute == "src":  # only img has src here
        return value if lowered.startswith(("cid:", "data:image/")) else None
    if attribute == "href" and lowered.startswith(("data:", "cid:")):
        return None  # a data: link is a phishing page in disguise
    return value


def _cleaner(*, with_sources: bool) -> nh3.Cleaner:
    """The cleaner for mail that shows images or links to its own parts (cid:, data:), or the
    one without: the attribute filter is a Python call per attribute, so mail without any
    src= (most of it) takes a cleaner that allows no image sources and no cid:/data: links
    at all instead."""
    if with_sources:
        return nh3.Cleaner(
            tags=_TAGS,
            clean_content_tags=_DROPPED_WITH_CONTENT,
            attributes=_ATTRIBUTES,
            attribute_filter=_attribute_filter,
            url_schemes=_SCHEMES,
            link_rel=_LINK_REL,
            strip_comments=True,
        )
    return nh3.Cleaner(
        tags=_TAGS,
        clean_content_tags=_DROPPED_WITH_CONTENT,
        attributes={**_ATTRIBUTES, "img": _ATTRIBUTES["img"] - {"src"}},
        url_schemes=_SCHEMES - {"cid", "data"},
        link_rel=_LINK_REL,
        strip_comments=True,
    )


_CLEANER = _cleaner(with_sources=True)
_NO_SOURCES = _cleaner(with_sources=False)
_CID = re.compile(r"""\bcid:([^"'\s>)]+)""", re.IGNORECASE)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([\w.:-]+)""", re.IGNORECASE)


def _configuration_digest() -> str:
    """What the cleaners keep and drop, as a digest: everything cached from ``sanitise``'s
    output is keyed by it, so that a tightened (or widened) sanitiser, or a new nh3, reaches
    every cached page at once, with no version number to remember."""
    parts = (
        getattr(nh3, "__version__", ""),
        sorted(_TAGS),
        sorted((tag, sorted(names)) for tag, names in _ATTRIBUTES.items()),
        sorted(_SCHEMES),
        sorted(_DROPPED_WITH_CONTENT),
        _LINK_REL,
        inspect.getsource(_attribute_filter),
        inspect.getsource(_cleaner),
        inspect.getsource(sanitise),
    )
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def sanitise(html: str) -> str:
    if not html.strip():
        return ""
    cleaner = _CLEANER if "src" in html.lower() else _NO_SOURCES
    return cleaner.clean(html)


SANITISER_DIGEST = _configuration_digest()


def cid_references(html: str) -> set[str]:
    """The Content-IDs an HTML body shows as images (cid:...), unquoted."""
    return {unquote(m) for m in _CID.findall(html)}


def meta_charset(data: bytes) -> str | None:
    """The charset an HTML part declares in a <meta> tag, for parts whose MIME header has none."""
    match = _META_CHARSET.search(data[:4096])
    return match.group(1).decode("ascii") if match else None


# Elements that end a line, and those that also leave a blank line around them.
_BLOCK = {
    "address", "article", "aside", "blockquote", "body", "center", "dd", "div", "dl", "dt",
    "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6",
    "header", "hr", "html", "li", "main", "nav", "ol", "p", "pre", "section", "table", "tr",
    "ul",
}  # fmt: skip
_PARAGRAPH = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "pre", "blockquote", "ul", "ol"}
_SKIP = {"script", "style", "head", "title", "template", "noscript", "textarea", "select"}
_VOID_SKIP = {"meta", "link", "base"}
_BLANK_RUNS = re.compile(r"\n{3,}")


class _TextMaker(HTMLParser):
    """Collects lines; a line is flushed with '> ' for each <blockquote> it sits in."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.line: list[str] = []
        self.quote = 0
        self.pre = 0
        self.skip = 0
        self.href: list[str] = []  # the open links' targets
        self.link_text: list[str] = []

    def flush(self, blank: bool = False) -> None:
        text = "".join(self.line).strip() if not self.pre else "".join(self.line).rstrip()
        self.line = []
        if text:
            self.lines.append(self._prefix() + text)
        if blank and self.lines and self.lines[-1].strip("> "):
            self.lines.append(self._prefix().rstrip())

    def _prefix(self) -> str:
        return "> " * self.quote

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP:
            self.skip += 1
        elif tag == "br":
            self.flush_br()
        elif tag in _BLOCK:
            self.flush(blank=tag in _PARAGRAPH)
            if tag == "blockquote":
                self.quote += 1
            elif tag == "pre":
                self.pre += 1
            elif tag == "li":
                self.line.append("- ")
        elif tag in ("td", "th"):
            self.line.append(" ")
        elif tag == "a":
            self.href.append(dict(attrs).get("href") or "")
            self.link_text = []

    def flush_br(self) -> None:
        if self.line:
            self.flush()
        else:
            self.lines.append(self._prefix().rstrip())

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.flush_br()
        elif tag not in _VOID_SKIP:
            self.handle_starttag(tag, attrs)
            if tag in _SKIP or tag in ("blockquote", "pre", "a"):
                self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag == "blockquote":
            self.flush()
            self.quote = max(0, self.quote - 1)
            self.flush(blank=True)  # the blank line after a quote belongs to the outer level
        elif tag in _BLOCK:
            self.flush(blank=tag in _PARAGRAPH)
            if tag == "pre":
                self.pre = max(0, self.pre - 1)
        elif tag == "a" and self.href:
            self._end_link(self.href.pop())

    def _end_link(self, href: str) -> None:
        # Support mail is full of links to job monitors and logs: keep the target when the
        # text does not already show it.
        text = "".join(self.link_text)
        if href.lower().startswith(("http://", "https://", "ftp://")) and href not in text:
            self.line.append(f" <{href}>")

    def handle_data(self, data: str) -> None:
        if self.skip:
            return
        data = data.replace("\xa0", " ")
        if self.pre:
            first, *rest = data.split("\n")
            self.line.append(first)
            for piece in rest:
                self.flush()
                self.line.append(piece)
            return
        text = " ".join(data.split())
        if not text:
            if self.line and not self.line[-1].endswith(" "):
                self.line.append(" ")
            return
        if data[:1].isspace() and self.line and not self.line[-1].endswith(" "):
            text = " " + text
        if data[-1:].isspace():
            text += " "
        self.line.append(text)
        if self.href:
            self.link_text.append(text)

    def text(self) -> str:
        self.flush()
        lines = [line.rstrip() for line in self.lines]
        return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip("\n")


_TAG = re.compile(r"<[^>]*>")


_MAX_TEXT_SOURCE = 1_000_000  # the stdlib parser reads ~3 MB/s; a page of text is enough


def html_to_text(html: str) -> tuple[str, str]:
    """Plain text from HTML. Returns (text, defect): the stdlib parser is forgiving but has
    raised on broken declarations before, and then tags are simply stripped."""
    defect = ""
    if len(html) > _MAX_TEXT_SOURCE:
        html = html[:_MAX_TEXT_SOURCE]
        defect = f"HTML longer than {_MAX_TEXT_SOURCE} characters: text made from the start"
    maker = _TextMaker()
    try:
        maker.feed(html)
        maker.close()
    except (AssertionError, ValueError, IndexError) as exc:
        stripped = unescape(_TAG.sub(" ", html))
        return _BLANK_RUNS.sub("\n\n", stripped).strip(), f"HTML could not be read ({exc})"
    return maker.text(), defect
