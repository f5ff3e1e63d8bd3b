"""PDF work orders: the HTML work order (the same template as the printable view)
laid out by WeasyPrint, an optional dependency (``evkb[pdf]``) that also needs the
pango library of the system."""

from __future__ import annotations

from typing import Any, NoReturn

from kb.errors import KBError

INSTALL = (
    "PDF work orders need WeasyPrint and the pango library: in this project "
    "`python3 -m uv sync --extra pdf` (elsewhere `pip install 'evkb[pdf]'`), and pango "
    "from the system (Debian: `apt-get install libpango-1.0-0 libpangoft2-1.0-0`)"
)


class PDFUnavailable(KBError):
    """WeasyPrint (or the system library it needs) is not installed."""


def _weasyprint() -> Any:
    try:
        import weasyprint
    except (ImportError, OSError) as e:  # OSError: pango missing
        raise PDFUnavailable(f"{INSTALL} ({e})") from e
    return weasyprint


def available() -> str:
    """'' when PDFs can be made, else what to install."""
    try:
        _weasyprint()
    except PDFUnavailable as e:
        return str(e)
    return ""


def _no_fetch(url: str, *_args: Any, **_kw: Any) -> NoReturn:
    """A work order embeds everything it shows: nothing is fetched, from the network or
    from files, whatever a report's text contains."""
    raise ValueError(f"a PDF work order loads nothing ({url[:80]})")


def html_to_pdf(html: str) -> bytes:
    weasyprint = _weasyprint()
    pdf: bytes = weasyprint.HTML(string=html, url_fetcher=_no_fetch).write_pdf()
    return pdf
