"""markdown-it-py tokens -> a document tree of sections and blocks with line numbers.

Line numbers are 1-based and inclusive, taken from ``Token.map`` (0-based,
end-exclusive) and offset by the front-matter lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.front_matter import front_matter_plugin


@dataclass
class Line:
    """One physical line of inline text: plain text plus its raw markdown."""

    number: int
    text: str
    raw: str


@dataclass
class Item:
    line_start: int
    line_end: int
    lines: list[Line]
    ordered: bool
    children: list[Item] = field(default_factory=list)

    @property
    def text(self) -> str:
        return " ".join(ln.text for ln in self.lines).strip()

    @property
    def raw(self) -> str:
        return " ".join(ln.raw for ln in self.lines).strip()


@dataclass
class Row:
    line: int
    cells: list[str]
    raw_cells: int  # number of cells actually written on the source line


@dataclass
class Block:
    kind: str  # paragraph, table, list, code, quote, hr, html, admonition
    line_start: int
    line_end: int
    lines: list[Line] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)
    children: list[Block] = field(default_factory=list)
    content: str = ""
    # admonitions (MkDocs ``??? question "Title"``, ``!!! note``, ``:::danger[Title]``)
    label: str = ""
    title: str = ""
    html: bool = False  # a table written as an HTML <table>

    @property
    def text(self) -> str:
        return " ".join(ln.text for ln in self.lines).strip()


@dataclass
class Section:
    title: str
    level: int
    line: int
    blocks: list[Block] = field(default_factory=list)
    raw_title: str = ""
    parents: tuple[str, ...] = ()  # titles of the enclosing headings, outermost first

    def all_blocks(self) -> list[Block]:
        """Blocks including those nested in block quotes, in document order."""
        out: list[Block] = []

        def walk(bs: list[Block]) -> None:
            for b in bs:
                out.append(b)
                walk(b.children)

        walk(self.blocks)
        return out


@dataclass
class Document:
    path: str
    text: str
    front_matter: str
    front_matter_line: int
    sections: list[Section]
    source_lines: list[str]


_MD = MarkdownIt("commonmark").enable("table").use(front_matter_plugin)


_BR = re.compile(r"^<br\s*/?>$", re.I)
_BLOCK_TAG = re.compile(r"^</?(?:li|ul|ol|p|div|tr)\b[^>]*>$", re.I)


def _inline_lines(tok: Token, first_line: int) -> list[Line]:
    """Split an inline token into physical lines (plain text + raw markdown). HTML
    tags are not text; a ``<br>`` inside a line separates with " / "."""
    lines: list[Line] = []
    raw_lines = tok.content.split("\n")
    buf: list[str] = []
    n = first_line
    for child in tok.children or []:
        if child.type in ("softbreak", "hardbreak"):
            lines.append(Line(n, "".join(buf).strip(), ""))
            buf = []
            n += 1
        elif child.type == "html_inline":
            if _BR.match(child.content.strip()):
                buf.append(" / ")
        elif child.type in ("text", "code_inline") or child.type == "image":
            buf.append(child.content)
    lines.append(Line(n, "".join(buf).strip(), ""))
    for i, ln in enumerate(lines):
        ln.raw = raw_lines[i].strip() if i < len(raw_lines) else ""
        ln.text = re.sub(r"\s+", " ", ln.text).strip()
    return lines


def cell_text(tok: Token) -> str:
    """A table cell's text: ``<br>`` and HTML list items separate lines ("\n")."""
    buf: list[str] = []
    for child in tok.children or []:
        if child.type == "html_inline":
            tag = child.content.strip()
            if _BR.match(tag) or re.match(r"^<li\b", tag, re.I):
                buf.append("\n")
            elif _BLOCK_TAG.match(tag):
                buf.append(" ")
        elif child.type in ("softbreak", "hardbreak"):
            buf.append(" ")
        elif child.type in ("text", "code_inline") or child.type == "image":
            buf.append(child.content)
    parts = [re.sub(r"\s+", " ", p).strip() for p in "".join(buf).split("\n")]
    return "\n".join(p for p in parts if p)


class _Parser:
    def __init__(self, tokens: list[Token], offset: int) -> None:
        self.toks = tokens
        self.i = 0
        self.offset = offset

    def lines_of(self, tok: Token) -> tuple[int, int]:
        if tok.map is None:
            return (0, 0)
        return (tok.map[0] + 1 + self.offset, tok.map[1] + self.offset)

    def blocks(self, stop: str | None = None) -> list[Block]:
        out: list[Block] = []
        while self.i < len(self.toks):
            tok = self.toks[self.i]
            if stop is not None and tok.type == stop:
                self.i += 1
                return out
            if tok.type == "heading_open" and stop is None:
                return out
            block = self.block()
            if block is not None:
                out.append(block)
        return out

    def block(self) -> Block | None:
        tok = self.toks[self.i]
        start, end = self.lines_of(tok)
        t = tok.type
        if t == "paragraph_open":
            inline = self.toks[self.i + 1]
            self.i += 3
            return Block("paragraph", start, end, lines=_inline_lines(inline, start))
        if t in ("bullet_list_open", "ordered_list_open"):
            items = self.list_items(t.replace("_open", "_close"), t == "ordered_list_open")
            return Block("list", start, end, items=items)
        if t == "table_open":
            return self.table(start, end)
        if t == "blockquote_open":
            self.i += 1
            children = self.blocks(stop="blockquote_close")
            return Block("quote", start, end, children=children)
        if t in ("fence", "code_block"):
            self.i += 1
            return Block("code", start, end, content=tok.content, label=t)
        if t == "hr":
            self.i += 1
            return Block("hr", start, end)
        if t == "html_block":
            self.i += 1
            if re.search(r"<table\b", tok.content, re.I):
                table = html_table(tok.content, start)
                if table is not None:
                    return table
            return Block("html", start, end, content=tok.content)
        self.i += 1
        return None

    def list_items(self, close: str, ordered: bool) -> list[Item]:
        self.i += 1
        items: list[Item] = []
        while self.i < len(self.toks) and self.toks[self.i].type != close:
            tok = self.toks[self.i]
            if tok.type != "list_item_open":
                self.i += 1
                continue
            start, end = self.lines_of(tok)
            self.i += 1
            item = Item(start, end, [], ordered)
            while self.toks[self.i].type != "list_item_close":
                sub = self.toks[self.i]
                if sub.type == "paragraph_open":
                    inline = self.toks[self.i + 1]
                    pstart, _ = self.lines_of(sub)
                    item.lines.extend(_inline_lines(inline, pstart))
                    self.i += 3
                elif sub.type in ("bullet_list_open", "ordered_list_open"):
                    item.children.extend(
                        self.list_items(
                            sub.type.replace("_open", "_close"), sub.type == "ordered_list_open"
                        )
                    )
                else:
                    self.block()
            self.i += 1
            items.append(item)
        self.i += 1
        return items

    def table(self, start: int, end: int) -> Block:
        header: list[str] = []
        rows: list[Row] = []
        current: list[str] | None = None
        row_line = 0
        in_head = False
        while self.toks[self.i].type != "table_close":
            tok = self.toks[self.i]
            if tok.type == "thead_open":
                in_head = True
            elif tok.type == "thead_close":
                in_head = False
            elif tok.type == "tr_open":
                current = []
                row_line = self.lines_of(tok)[0]
            elif tok.type == "inline" and current is not None:
                current.append(cell_text(tok))
            elif tok.type == "tr_close" and current is not None:
                if in_head:
                    header = current
                else:
                    rows.append(Row(row_line, current, 0))
                current = None
            self.i += 1
        self.i += 1
        return Block("table", start, end, header=header, rows=rows)


class _HTMLTable(HTMLParser):
    """Rows of an HTML ``<table>``: cells with the line each row starts on."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[tuple[int, list[str], bool]] = []  # line, cells, all <th>
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._heads = 0
        self._line = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self._row, self._heads, self._line = [], 0, self.getpos()[0]
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
            self._heads += tag == "th"
        elif tag in ("br", "li") and self._cell is not None:
            self._cell.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._row is not None and self._cell is not None:
            parts = [re.sub(r"\s+", " ", p).strip() for p in "".join(self._cell).split("\n")]
            self._row.append("\n".join(p for p in parts if p))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append((self._line, self._row, self._heads == len(self._row) > 0))
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def html_table(content: str, first_line: int) -> Block | None:
    """An HTML ``<table>`` block as a table Block (header: a first row of <th>)."""
    parser = _HTMLTable()
    try:
        parser.feed(content)
        parser.close()
    except Exception:  # malformed HTML stays an html block
        return None
    if not parser.rows:
        return None
    header: list[str] = []
    rows: list[Row] = []
    for i, (line, cells, heads) in enumerate(parser.rows):
        if i == 0 and heads:
            header = cells
            continue
        rows.append(Row(first_line + line - 1, cells, len(cells)))
    end = first_line + content.rstrip("\n").count("\n")
    return Block("table", first_line, end, header=header, rows=rows, html=True)


_MKDOCS = re.compile(r'^(?:\?{3}\+?|!{3})\s*(?P<label>[\w-]+)(?:\s+"(?P<title>.*)")?\s*$')
_FENCED_OPEN = re.compile(r"^:{3,}(?P<label>[\w-]+)(?:\[(?P<title>[^\]]*)\])?\s*$")


def _nest(content: str, first_line: int) -> list[Block]:
    """Blocks of Markdown found inside another block (an admonition's body)."""
    parser = _Parser(_MD.parse(content), first_line - 1)
    out: list[Block] = []
    while parser.i < len(parser.toks):
        if parser.toks[parser.i].type == "heading_open":
            parser.i += 3
            continue
        out.extend(parser.blocks())
    return out


def admonitions(blocks: list[Block]) -> list[Block]:
    """MkDocs ``??? question "Title"`` + an indented body, and ``:::label[Title]`` ...
    ``:::`` fences, as admonition blocks whose children are the body's blocks."""
    out: list[Block] = []
    i = 0
    while i < len(blocks):
        b = blocks[i]
        first = b.lines[0].raw if b.kind == "paragraph" and b.lines else ""
        m = _MKDOCS.match(first) if len(b.lines) == 1 else None
        nxt = blocks[i + 1] if i + 1 < len(blocks) else None
        if m and nxt is not None and nxt.kind == "code" and nxt.label == "code_block":
            children = _nest(nxt.content, nxt.line_start)
            out.append(
                Block(
                    "admonition",
                    b.line_start,
                    nxt.line_end,
                    children=children,
                    label=m.group("label").lower(),
                    title=(m.group("title") or "").strip(),
                )
            )
            i += 2
            continue
        fm = _FENCED_OPEN.match(first)
        if fm:
            inner = Block("paragraph", b.line_start + 1, b.line_end, lines=b.lines[1:])
            body: list[Block] = []
            end = b.line_end
            j = i
            closed = False
            while True:
                cur = inner if j == i else blocks[j]
                if cur.kind == "paragraph" and cur.lines and cur.lines[-1].raw.strip(":") == "":
                    cur = Block("paragraph", cur.line_start, cur.line_end - 1, lines=cur.lines[:-1])
                    closed = True
                if cur.kind != "paragraph" or cur.lines:
                    body.append(cur)
                end = blocks[j].line_end
                if closed or j + 1 >= len(blocks):
                    break
                j += 1
            out.append(
                Block(
                    "admonition",
                    b.line_start,
                    end,
                    children=body,
                    label=fm.group("label").lower(),
                    title=(fm.group("title") or "").strip(),
                )
            )
            i = j + 1
            continue
        if b.children:
            b.children = admonitions(b.children)
        out.append(b)
        i += 1
    return out


_CELL_SPLIT = re.compile(r"(?<!\\)\|")


def count_cells(raw_line: str) -> int:
    s = raw_line.strip()
    if s.startswith("|"):
        s = s[1:]
    if s.endswith("|") and not s.endswith("\\|"):
        s = s[:-1]
    return len(_CELL_SPLIT.split(s))


def parse(path: str, text: str) -> Document:
    tokens = _MD.parse(text)
    front = ""
    fm_line = 0
    if tokens and tokens[0].type == "front_matter":
        front = tokens[0].content
        fm_line = 1
    parser = _Parser(tokens, 0)
    sections: list[Section] = []
    source_lines = text.split("\n")
    # blocks before the first heading go into a level-0 section
    root = Section("", 0, 1, admonitions(parser.blocks()))
    sections.append(root)
    stack: list[tuple[int, str]] = []
    while parser.i < len(tokens):
        tok = tokens[parser.i]
        if tok.type == "heading_open":
            inline = tokens[parser.i + 1]
            start, _ = parser.lines_of(tok)
            title = " ".join(ln.text for ln in _inline_lines(inline, start)).strip()
            level = int(tok.tag[1:])
            parser.i += 3
            while stack and stack[-1][0] >= level:
                stack.pop()
            sec = Section(
                title,
                level,
                start,
                raw_title=inline.content,
                parents=tuple(t for _lv, t in stack),
            )
            stack.append((level, title))
            sec.blocks = admonitions(parser.blocks())
            sections.append(sec)
        else:
            parser.i += 1
    for sec in sections:
        for block in sec.all_blocks():
            if block.kind == "table" and not block.html:
                for row in block.rows:
                    row.raw_cells = count_cells(source_lines[row.line - 1])
    return Document(path, text, front, fm_line, sections, source_lines)
