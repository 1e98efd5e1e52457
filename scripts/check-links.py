#!/usr/bin/env python3
"""Checks that every relative link in the repository's Markdown files resolves: the file or
directory exists, and a `#fragment` names a heading of the target file. External links
(http, https, mailto) are listed by count only: the check runs offline."""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LINK = re.compile(r"(?<!\!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
CODE_FENCE = re.compile(r"^\s*```")


def markdown_files():
    out = subprocess.run(["git", "ls-files", "*.md"], cwd=ROOT, capture_output=True, text=True, check=True)
    return [f for f in out.stdout.split() if f]


def slug(heading):
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path):
    found, fenced = set(), False
    with open(path, encoding="utf-8") as f:
        for line in f:
            if CODE_FENCE.match(line):
                fenced = not fenced
            elif not fenced and line.startswith("#"):
                found.add(slug(line.lstrip("#")))
    return found


def links(path):
    fenced = False
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if CODE_FENCE.match(line):
                fenced = not fenced
                continue
            if fenced:
                continue
            line = re.sub(r"`[^`]*`", "", line)  # links inside inline code are not links
            for m in LINK.finditer(line):
                yield n, m.group(1)


def main():
    broken, external = [], 0
    for md in markdown_files():
        here = os.path.dirname(os.path.join(ROOT, md))
        for n, target in links(os.path.join(ROOT, md)):
            if re.match(r"^[a-z]+:", target):
                external += 1
                continue
            file_part, _, fragment = target.partition("#")
            dest = os.path.normpath(os.path.join(here, file_part)) if file_part else os.path.join(ROOT, md)
            if not os.path.exists(dest):
                broken.append(f"{md}:{n}: {target} (no such file)")
            elif fragment and dest.endswith(".md") and slug(fragment) not in anchors(dest):
                broken.append(f"{md}:{n}: {target} (no such heading)")
            elif os.path.relpath(dest, ROOT).startswith(".."):
                broken.append(f"{md}:{n}: {target} (outside the repository)")
    for b in broken:
        print(b, file=sys.stderr)
    print(f"check-links: {len(markdown_files())} files, {len(broken)} broken, {external} external links not checked")
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
