"""The README and docs/ hold together: every relative link resolves, every anchor names a
heading of its page, the README stays short and lists every docs page."""

import os
import re
from pathlib import Path
from urllib.parse import unquote

import pytest

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
DOCS = REPO / "docs"
PAGES = [README, *sorted(DOCS.glob("*.md"))]
README_MAX_LINES = 320

# `[text](target)` and `![alt](target)`, with an optional "title" after the target.
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
# An inline code span; one that holds link syntax is shown as code, not a link.
CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)*?\1")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
FENCE = re.compile(r"^\s*(```|~~~)")


def prose_lines(text: str) -> list[str]:
    """The lines outside fenced code blocks."""
    lines, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            lines.append(line)
    return lines


def links(path: Path) -> list[str]:
    """Every link target in the file's prose (inline code spans left out)."""
    targets = []
    for line in prose_lines(path.read_text(encoding="utf-8")):
        line = CODE_SPAN.sub(lambda span: "" if "](" in span.group(0) else span.group(0), line)
        targets += LINK.findall(line)
    return targets


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: markup dropped, lowercase, punctuation other than
    hyphens, underscores and spaces dropped, spaces to hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link's text stays
    text = text.replace("`", "").lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """The anchors of a markdown file's headings (a repeated one gets -1, -2, ...)."""
    seen: dict[str, int] = {}
    found = set()
    for line in prose_lines(path.read_text(encoding="utf-8")):
        match = HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def is_external(target: str) -> bool:
    return re.match(r"^(https?:|mailto:)", target, re.I) is not None


def broken_links(path: Path) -> list[str]:
    """What is wrong with each relative link of `path`, one line per link."""
    problems = []
    for target in links(path):
        if is_external(target):
            continue
        file_part, _, anchor = target.partition("#")
        if not file_part:
            continue  # a link within the page
        resolved = (path.parent / unquote(file_part)).resolve()
        if not resolved.exists():
            problems.append(f"{target}: no such file {os.path.relpath(resolved, REPO)}")
        elif anchor and resolved.suffix == ".md" and unquote(anchor) not in anchors(resolved):
            problems.append(f"{target}: no heading with anchor #{anchor} in {file_part}")
    return problems


def test_the_slug_follows_github():
    assert slug("How crude is the posterior? Gaps, rate decomposition") == (
        "how-crude-is-the-posterior-gaps-rate-decomposition"
    )
    assert slug("The README's results") == "the-readmes-results"
    assert slug("`disbench run`: the_task file") == "disbench-run-the_task-file"


def test_a_broken_link_is_found(tmp_path):
    (tmp_path / "there.md").write_text("# A heading\n", encoding="utf-8")
    page = tmp_path / "page.md"
    page.write_text(
        "[ok](there.md#a-heading) [gone](missing.md) [bad](there.md#no-such)\n"
        "```\n[in code](not-checked.md)\n```\n[web](https://example.org/x) [here](#top)\n",
        encoding="utf-8",
    )
    problems = broken_links(page)
    assert len(problems) == 2
    assert "missing.md" in problems[0] and "#no-such" in problems[1]


@pytest.mark.parametrize("path", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_resolves(path):
    assert broken_links(path) == []


def test_the_readme_is_short():
    lines = README.read_text(encoding="utf-8").count("\n")
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines; move detail to docs/"


def test_the_readme_lists_every_docs_page():
    assert len(links(README)) >= len(list(DOCS.glob("*.md"))), "the link pattern finds too few"
    listed = {
        (REPO / unquote(t.partition("#")[0])).resolve()
        for t in links(README)
        if not is_external(t) and not t.startswith("#")
    }
    unlisted = [p.name for p in DOCS.glob("*.md") if p.resolve() not in listed]
    assert unlisted == [], f"docs pages the README does not link: {unlisted}"


def test_ci_runs_the_readmes_test_command_verbatim():
    """`.ci/run` says it runs the README's test command: the same line, character for character."""
    text = README.read_text(encoding="utf-8")
    section = text[text.index("Set up and run the tests") :]
    command = section.split("```bash\n", 1)[1].split("\n```", 1)[0].strip()
    assert "pytest" in command
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert command in [line.strip() for line in ci]
