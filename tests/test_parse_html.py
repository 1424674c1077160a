"""HTML: title, visible text only, paragraph breaks, pages split at h1-h3."""
from __future__ import annotations

from ingest.parse import parse_file
from ingest.parse.htmltext import html_to_text

PAGE = """<!DOCTYPE html>
<html><head><title>  The   Manual </title>
<style>body { color: red }</style><script>var hidden = "<p>not text</p>";</script></head>
<body>
<p>Opening <b>bold</b>words &amp; entities&nbsp;here.</p>
<h1>Chapter <em>One</em></h1>
<p>First line<br>second line</p>
<ul><li>item one</li><li>item two</li></ul>
<h4>Minor heading stays inside</h4>
<pre>  indented
    code</pre>
<h2>Chapter Two</h2>
<table><tr><td>cell a</td><td>cell b</td></tr></table>
<noscript>enable javascript</noscript>
</body></html>
"""


def test_visible_text_with_paragraph_breaks():
    extracted = html_to_text(PAGE)
    assert extracted.title == "The Manual"
    assert extracted.text() == (
        "Opening boldwords & entities here.\n\nChapter One\n\nFirst line\nsecond line\n\nitem one\n\nitem two"
        "\n\nMinor heading stays inside\n\n  indented\n    code\n\nChapter Two\n\ncell a cell b"
    )
    assert [block.heading_level for block in extracted.blocks if block.heading_level] == [1, 4, 2]


def test_html_pages_split_at_h1_to_h3(tmp_path):
    path = tmp_path / "manual.html"
    path.write_text(PAGE, encoding="utf-8")
    doc = parse_file(path)
    assert doc.format == "html" and doc.title == "The Manual"
    assert [(page.number, page.section) for page in doc.pages] == [(1, None), (2, "Chapter One"), (3, "Chapter Two")]
    assert doc.pages[1].text.startswith("Chapter One\n\nFirst line")
    assert "Minor heading stays inside" in doc.pages[1].text


def test_declared_charset_is_used(tmp_path):
    path = tmp_path / "latin.htm"
    path.write_bytes('<html><head><meta charset="iso-8859-1"><title>Café</title></head><p>Ça va</p></html>'.encode("latin-1"))
    doc = parse_file(path)
    assert doc.title == "Café"
    assert doc.pages[0].text == "Ça va"


def test_html_with_a_txt_extension_is_read_as_html(tmp_path):
    path = tmp_path / "saved-page.txt"
    path.write_text("<!doctype html><html><title>T</title><p>Hello <i>there</i></p></html>")
    doc = parse_file(path)
    assert doc.format == "html"
    assert doc.full_text() == "Hello there"


def test_permalink_marks_are_not_text(tmp_path):
    """Sphinx, MkDocs and texinfo put a '¶' link after each heading and definition: titles and text leave it out,
    while other links within the page, and a pilcrow in the text itself, stay."""
    page = tmp_path / "json.html"
    page.write_text(
        '<html><body><h2>Basic Usage<a class="headerlink" href="#basic-usage" title="Permalink">¶</a></h2>'
        '<dl><dt><code>json.dump</code>(<em>obj</em>)<a class="headerlink" href="#json.dump">¶</a></dt>'
        '<dd><p>Serialize <em>obj</em>; see <a href="#table">the table below</a> and the ¶ sign, or '
        '<a href="#s3"><span>section</span> 3</a>.</p></dd></dl>'
        '<h2 id="x">Encoders<a class="copiable-anchor" href="#x"> ¶</a></h2><p>Text.</p></body></html>',
        encoding="utf-8")
    doc = parse_file(page)
    assert [section.title for section in doc.sections] == ["Basic Usage", "Encoders"]
    text = "\n".join(p.text for p in doc.pages)
    assert "json.dump(obj)\n" in text + "\n" and "Usage¶" not in text and "dump(obj)¶" not in text
    assert "see the table below and the ¶ sign, or section 3." in text


def test_navigation_is_not_text():
    """A generated manual's sidebar, 'Previous topic' / 'Next topic' bar and search box (<nav>, role="navigation",
    role="search") repeat on every page: they are left out, nested elements and unclosed ones inside them too."""
    extracted = html_to_text(
        '<html><body><div class="related" role="navigation"><ul><li><a href="a.html">Previous topic</a></li>'
        '<li><img src="x.png"><a href="b.html">Next topic</a></li></ul></div>'
        '<div class="body"><h1>json</h1><p>Encode <b>objects</b>.<br>Decode them.</p></div>'
        '<nav class="menu"><div><p>Table of Contents<div role="search"><input type="text"></div></div></nav>'
        '<p>After the sidebar.</p></body></html>')
    assert extracted.text() == "json\n\nEncode objects.\nDecode them.\n\nAfter the sidebar."


def test_a_line_break_inside_a_link_keeps_the_words_in_order():
    extracted = html_to_text('<p>see <a href="#a">first<br>second</a> done<br/>next</p>')
    assert extracted.text() == "see first\nsecond done\nnext"
