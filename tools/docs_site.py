"""The docs site's build hooks (``mkdocs.yml`` names this file under ``hooks:``): one site from the files the
repository already keeps, with nothing copied by hand. Every page's figures, the layers' READMEs included, are held
to the code by ``tests/unit/test_doc_figures.py``.

* Every layer's README (``modules/<layer>/README.md``, which the layer owns beside its code) becomes the page
  ``layers/<layer>.md`` of the site, read from where it lives.
* A link that leaves ``docs/`` is made to work in the site: to a layer README, the layer's page; to a page of
  ``docs/`` from a layer README, that page; to any other file of the repository (code, schemas, the price table),
  the link becomes the file's repository path in code type, since the site carries no source browser. A link to
  a file the repository does not have is left as it is, so ``mkdocs build --strict`` fails on it.

Build: ``.venv/bin/mkdocs build --strict`` (scripts/test.sh runs it); serve while writing: ``.venv/bin/mkdocs serve``.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[1]
LAYERS_DIR = "layers"
# [text](target "title") and ![alt](target): the target up to the first space or closing bracket.
_LINK = re.compile(r"(?P<bang>!?)\[(?P<text>[^\]\n]*)\]\((?P<target>[^)\s]+)(?P<title>\s+\"[^\"]*\")?\)")
_FENCE = re.compile(r"^(```|~~~)", re.MULTILINE)
_EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|#|/)", re.IGNORECASE)


def layer_readmes(root: Path = ROOT) -> dict[str, Path]:
    """layer name -> its README, for every layer folder that has one."""
    return {p.parent.name: p for p in sorted((root / "modules").glob("*/README.md"))}


def on_files(files: Files, config: Any) -> Files:
    for layer, readme in layer_readmes().items():
        files.append(File.generated(config, f"{LAYERS_DIR}/{layer}.md", abs_src_path=str(readme)))
    return files


def repo_path_of(src_uri: str) -> str:
    """Where the page ``src_uri`` of the site lives in the repository."""
    parts = src_uri.split("/")
    if len(parts) == 2 and parts[0] == LAYERS_DIR and parts[1].removesuffix(".md") in layer_readmes():
        return f"modules/{parts[1].removesuffix('.md')}/README.md"
    return f"docs/{src_uri}"


def _site_uri(repo_path: str) -> str | None:
    """The site page (or asset) for a repository path, or None when the site does not carry it."""
    if repo_path.startswith("docs/"):
        return repo_path.removeprefix("docs/")
    match = re.fullmatch(r"modules/([a-z0-9_]+)/README\.md", repo_path)
    if match and match.group(1) in layer_readmes():
        return f"{LAYERS_DIR}/{match.group(1)}.md"
    return None


def rewrite_link(target: str, page_src_uri: str) -> tuple[str, str | None]:
    """``("link", new_target)`` for a target the site has, ``("code", repo_path)`` for a repository file the site
    does not carry, ``("keep", None)`` for everything else (external, anchors, unknown files)."""
    if _EXTERNAL.match(target):
        return "keep", None
    path, _, anchor = target.partition("#")
    if not path:
        return "keep", None
    page_repo = repo_path_of(page_src_uri)
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(page_repo), path))
    if resolved.startswith("../"):
        return "keep", None
    site = _site_uri(resolved)
    if site is not None:
        relative = posixpath.relpath(site, posixpath.dirname(page_src_uri) or ".")
        return "link", relative + (f"#{anchor}" if anchor else "")
    if (ROOT / resolved).exists():
        return "code", resolved
    return "keep", None


def _rewrite_prose(text: str, page_src_uri: str) -> str:
    def replace(m: re.Match[str]) -> str:
        kind, value = rewrite_link(m.group("target"), page_src_uri)
        if kind == "link":
            return f"{m.group('bang')}[{m.group('text')}]({value}{m.group('title') or ''})"
        if kind == "code":
            label = m.group("text")
            shown = label.strip("`")
            return label if shown == value else f"{label} (`{value}`)"
        return m.group(0)

    return _LINK.sub(replace, text)


def rewrite_markdown(markdown: str, page_src_uri: str) -> str:
    """``markdown`` with its links rewritten for the site; fenced code blocks are left untouched."""
    pieces = _FENCE.split(markdown)
    out: list[str] = []
    inside, fence = False, ""
    for piece in pieces:
        if piece in ("```", "~~~"):
            if not inside:
                inside, fence = True, piece
            elif piece == fence:
                inside = False
            out.append(piece)
            continue
        out.append(piece if inside else _rewrite_prose(piece, page_src_uri))
    return "".join(out)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    return rewrite_markdown(markdown, page.file.src_uri)
