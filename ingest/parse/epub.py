"""EPUB 2/3 with the standard library: container.xml -> OPF -> spine order; chapter titles from nav.xhtml or toc.ncx.

Each spine item becomes a Page (number = spine position). Archives are checked before anything is
decompressed: member count, declared uncompressed sizes and compression ratios (zip bombs).
"""
from __future__ import annotations

import io
import posixpath
import xml.etree.ElementTree as ElementTree
import zipfile
import zlib
from html.parser import HTMLParser
from urllib.parse import unquote

from ingest.documents import Page, SectionStart
from ingest.errors import IngestError
from ingest.parse.content import DocumentContent
from ingest.parse.htmltext import decode_html, html_to_text
from ingest.parse.normalize import normalize_text

MAX_MEMBERS = 20_000
MAX_TOTAL_UNCOMPRESSED_BYTES = 1024 * 1024 * 1024
MAX_COMPRESSION_RATIO = 200  # text deflates ~3-20x; a zip bomb ~1000x
RATIO_CHECK_MIN_BYTES = 1024 * 1024  # tiny members may compress absurdly well and harm no one

_CONTAINER_PATH = "META-INF/container.xml"
_ENCRYPTION_PATH = "META-INF/encryption.xml"
_NCX_MEDIA_TYPE = "application/x-dtbncx+xml"
_TEXT_MEDIA_TYPES = frozenset({"application/xhtml+xml", "text/html", "application/xml", "text/xml", ""})


def parse_epub(data: bytes, source: object) -> DocumentContent:
    """Pages (one per spine item) and sections (table-of-contents titles) of an EPUB file."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise IngestError(source, f"not a valid EPUB: corrupt ZIP archive ({error})") from None
    with archive:
        check_archive_limits(archive, source)
        try:
            return _read_book(archive, source)
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError, RuntimeError) as error:
            # RuntimeError: zipfile's answer to encrypted members; NotImplementedError: unknown compression
            raise IngestError(source, f"cannot read EPUB archive ({error})") from None


def check_archive_limits(archive: zipfile.ZipFile, source: object) -> None:
    """Refuse archives that would decompress to too much: too many members, too large, too compressed."""
    members = archive.infolist()
    if len(members) > MAX_MEMBERS:
        raise IngestError(source, f"EPUB has too many files ({len(members)} > {MAX_MEMBERS})")
    total = sum(member.file_size for member in members)
    if total > MAX_TOTAL_UNCOMPRESSED_BYTES:
        raise IngestError(source, f"EPUB would decompress to {total / 1e6:.0f} MB, over the limit (zip bomb?)")
    for member in members:
        if member.file_size >= RATIO_CHECK_MIN_BYTES and member.file_size > MAX_COMPRESSION_RATIO * max(
            member.compress_size, 1
        ):
            ratio = member.file_size / max(member.compress_size, 1)
            raise IngestError(source, f"EPUB member {member.filename!r} is compressed {ratio:.0f}:1 (zip bomb?)")


def _read_book(archive: zipfile.ZipFile, source: object) -> DocumentContent:
    names = set(archive.namelist())
    opf_path = _package_document_path(archive, names, source)
    package = _parse_xml(_read_member(archive, opf_path, source), opf_path, source)
    manifest = _manifest(package, opf_path)
    spine = _spine_items(package, manifest, names)
    spine_paths = [item["path"] for item in spine]
    if not spine_paths:
        raise IngestError(source, "EPUB has no readable chapters (empty spine)")
    _refuse_drm(archive, names, spine_paths, source)

    toc_titles = _toc_titles(archive, package, manifest, names, source)
    pages, sections = [], []
    for number, item in enumerate(spine, 1):
        path = item["path"]
        text = ""  # an image or other non-text spine item still counts as a page
        if item["media-type"] in _TEXT_MEDIA_TYPES:
            markup = decode_html(_read_member(archive, path, source), f"{source}:{path}")
            text = normalize_text(html_to_text(markup).text())
        pages.append(Page(number=number, label=str(number), text=text))
        if path in toc_titles:
            sections.append(SectionStart(number, 0, toc_titles[path]))
    return DocumentContent(title=_dublin_core_title(package), pages=pages, sections=sections)


def _package_document_path(archive: zipfile.ZipFile, names: set[str], source: object) -> str:
    """The OPF path named by META-INF/container.xml, else the first .opf file in the archive."""
    if _CONTAINER_PATH in names:
        container = _parse_xml(_read_member(archive, _CONTAINER_PATH, source), _CONTAINER_PATH, source)
        for element in container.iter():
            if _local_name(element.tag) == "rootfile":
                path = element.get("full-path", "")
                if path in names:
                    return path
    opf_files = sorted(name for name in names if name.lower().endswith(".opf"))
    if not opf_files:
        raise IngestError(source, "not a valid EPUB: no package document (.opf) found")
    return opf_files[0]


def _manifest(package: ElementTree.Element, opf_path: str) -> dict[str, dict[str, str]]:
    """Manifest item id -> {"path", "media-type", "properties"}, with paths resolved inside the archive."""
    items = {}
    for element in package.iter():
        if _local_name(element.tag) == "item" and element.get("id") and element.get("href"):
            items[element.get("id")] = {
                "path": _resolve(opf_path, element.get("href")),
                "media-type": element.get("media-type", ""),
                "properties": element.get("properties", ""),
            }
    return items


def _spine_items(package: ElementTree.Element, manifest: dict, names: set[str]) -> list[dict[str, str]]:
    """Manifest items in spine (reading) order, those present in the archive."""
    items = []
    for element in package.iter():
        if _local_name(element.tag) == "itemref":
            item = manifest.get(element.get("idref", ""))
            if item and item["path"] in names:
                items.append(item)
    return items


def _refuse_drm(archive: zipfile.ZipFile, names: set[str], spine_paths: list[str], source: object) -> None:
    """Encrypted chapters mean DRM (font obfuscation also lists files in encryption.xml, but never chapters)."""
    if _ENCRYPTION_PATH not in names:
        return
    encryption = _parse_xml(_read_member(archive, _ENCRYPTION_PATH, source), _ENCRYPTION_PATH, source)
    encrypted = {
        posixpath.normpath(unquote(element.get("URI", "")))
        for element in encryption.iter()
        if _local_name(element.tag) == "CipherReference"
    }
    if encrypted & set(spine_paths):
        raise IngestError(source, "EPUB is DRM-protected (its chapters are encrypted)")


def _toc_titles(archive, package, manifest, names, source) -> dict[str, str]:
    """Spine item path -> title of the first table-of-contents entry pointing into it."""
    entries: list[tuple[str, str]] = []  # (href as written, title), relative to the toc document
    nav = next((item for item in manifest.values() if "nav" in item["properties"].split()), None)
    if nav and nav["path"] in names:
        markup = decode_html(_read_member(archive, nav["path"], source), f"{source}:{nav['path']}")
        entries = [(_resolve(nav["path"], href), title) for href, title in _nav_links(markup)]
    if not entries:
        ncx = _ncx_item(package, manifest)
        if ncx and ncx["path"] in names:
            ncx_root = _parse_xml(_read_member(archive, ncx["path"], source), ncx["path"], source)
            entries = [(_resolve(ncx["path"], href), title) for href, title in _ncx_links(ncx_root)]
    titles: dict[str, str] = {}
    for path, title in entries:
        titles.setdefault(path, title)
    return titles


def _ncx_item(package: ElementTree.Element, manifest: dict) -> dict | None:
    for element in package.iter():
        if _local_name(element.tag) == "spine" and element.get("toc") in manifest:
            return manifest[element.get("toc")]
    return next((item for item in manifest.values() if item["media-type"] == _NCX_MEDIA_TYPE), None)


def _ncx_links(root: ElementTree.Element) -> list[tuple[str, str]]:
    """(src, label) of every navPoint, in document order."""
    links = []
    for point in root.iter():
        if _local_name(point.tag) != "navPoint":
            continue
        label, src = "", ""
        for child in point:
            if _local_name(child.tag) == "navLabel":
                label = " ".join("".join(child.itertext()).split())
            elif _local_name(child.tag) == "content":
                src = child.get("src", "")
        if label and src:
            links.append((src, label))
    return links


def _nav_links(markup: str) -> list[tuple[str, str]]:
    """(href, text) of the links in the EPUB 3 navigation document's toc <nav>."""
    parser = _NavLinkParser()
    parser.feed(markup)
    parser.close()
    return parser.toc_links or parser.any_nav_links


class _NavLinkParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.toc_links: list[tuple[str, str]] = []
        self.any_nav_links: list[tuple[str, str]] = []  # used when no <nav> says epub:type="toc"
        self._nav_depth = 0
        self._in_toc_nav = False
        self._href: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "nav":
            self._nav_depth += 1
            if "toc" in (attributes.get("epub:type") or "").split():
                self._in_toc_nav = True
        elif tag == "a" and self._nav_depth:
            self._href, self._text = attributes.get("href"), []

    def handle_endtag(self, tag):
        if tag == "nav" and self._nav_depth:
            self._nav_depth -= 1
            if not self._nav_depth:
                self._in_toc_nav = False
        elif tag == "a" and self._href is not None:
            title = " ".join("".join(self._text).split())
            if title:
                (self.toc_links if self._in_toc_nav else self.any_nav_links).append((self._href, title))
            self._href = None

    def handle_data(self, data):
        if self._href is not None:
            self._text.append(data)


def _dublin_core_title(package: ElementTree.Element) -> str | None:
    for element in package.iter():
        if _local_name(element.tag) == "title" and (element.text or "").strip():
            return " ".join(element.text.split())
    return None


def _read_member(archive: zipfile.ZipFile, name: str, source: object) -> bytes:
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise IngestError(source, f"not a valid EPUB: {name} is missing") from None
    with archive.open(info) as member:
        return member.read(info.file_size + 1)


def _parse_xml(data: bytes, name: str, source: object) -> ElementTree.Element:
    try:
        return ElementTree.fromstring(data)
    except ElementTree.ParseError as error:
        raise IngestError(source, f"not a valid EPUB: {name} is not well-formed XML ({error})") from None


def _resolve(base_path: str, href: str) -> str:
    """Archive path of an href (fragment dropped) written inside the document at base_path."""
    target = unquote(href.split("#", 1)[0])
    return posixpath.normpath(posixpath.join(posixpath.dirname(base_path), target))


def _local_name(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""
