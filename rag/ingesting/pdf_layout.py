"""A PDF's positioned lines to the plain layout: tables rebuilt from the text positions, lines broken by the
layout inside a sentence joined.
"""
from __future__ import annotations

import statistics

from .layout import RE_BLOCK, RE_CATEGORY, RE_PAGENO, RE_STRUCT, TERMINAL, _glue, _table_lines
from .pdf_lines import _Line, _width


def _tables_and_lines(lines: list[_Line]) -> list:
    """Group lines into ('line', _Line) and ('table', rows) blocks.

    A table starts at a line of >= 3 short cells (the header; its cell positions are the columns) followed by
    a line of >= 2 cells. Every text fragment goes to the column it starts in. A row is anchored at a line that
    fills the first column and another one (or most columns when the first column is often empty); the other
    lines of the table -- wrapped cell text, which a vertically centred row puts above and below its anchor --
    join the nearest anchor on the same page, top to bottom. A one-cell "一、经济发展" line is a category row."""
    out, i, n = [], 0, len(lines)
    while i < n:
        L = lines[i]
        nxt = next((x for x in lines[i + 1:i + 4] if len(x.segs) >= 2 or not (RE_CATEGORY.match(x.text) or len(x.text) <= 6)), None)
        if not (len(L.segs) >= 3 and all(len(t) <= 20 for _, t in L.segs) and nxt is not None and len(nxt.segs) >= 2):
            out.append(("line", L))
            i += 1
            continue
        cols = [x for x, _ in L.segs]
        fs = L.fs
        right = max(x.x1 for x in lines[i:i + 12])
        tol = 1.0 * fs

        def col_of(x: float) -> int:
            return max([k for k, c in enumerate(cols) if c - tol <= x] or [0])

        def col_width(k: int) -> float:
            return (cols[k + 1] if k + 1 < len(cols) else right) - cols[k]

        # 1. the lines that belong to the table
        members = [L]
        j = i + 1
        while j < n:
            M, prev = lines[j], members[-1]
            if M.page == prev.page and prev.y - M.y > 4 * fs:
                break
            if len(M.segs) == 1 and not RE_CATEGORY.match(M.text):
                k = col_of(M.x0)
                if RE_STRUCT.match(M.text) or RE_BLOCK.match(M.text) and k == 0 or _width(M.text, M.fs) > col_width(k) + fs:
                    break                                   # a heading or a prose line: the table ended
            members.append(M)
            j += 1
        # 2. cells per line
        cells_of = []
        for M in members:
            cells = [""] * len(cols)
            for x, t in M.frags:
                k = col_of(x)
                cells[k] += _glue(cells[k], t) + t
            cells_of.append(cells)
        multi = [c for c in cells_of[1:] if sum(1 for v in c if v) >= 2]
        key0 = bool(multi) and sum(1 for c in multi if c[0]) >= 0.6 * len(multi)

        def kind(m: int) -> str:
            M, c = members[m], cells_of[m]
            if m == 0:
                return "anchor"
            if len(M.segs) == 1 and RE_CATEGORY.match(M.text) and col_of(M.x0) == 0:
                return "category"
            filled = sum(1 for v in c if v)
            ok = (c[0] and filled >= 2) if key0 else filled >= max(2, len(cols) - 1)
            return "anchor" if ok else "orphan"

        kinds = [kind(m) for m in range(len(members))]
        anchors = [m for m, k in enumerate(kinds) if k == "anchor"]
        groups: dict[int, list[int]] = {m: [m] for m in anchors}
        for m, k in enumerate(kinds):
            if k != "orphan":
                continue
            same = [a for a in anchors if members[a].page == members[m].page]
            if same:
                a = min(same, key=lambda a: (abs(members[a].y - members[m].y), -a))
            else:
                a = max([a for a in anchors if a < m] or [0])
            groups[a].append(m)
        rows, header = [], None
        for m, k in enumerate(kinds):
            if k == "category":
                rows.append([members[m].text])
            elif k == "anchor":
                row = [""] * len(cols)
                for g in sorted(groups[m], key=lambda g: (members[g].page, -members[g].y)):
                    for c, v in enumerate(cells_of[g]):
                        if v:
                            row[c] += _glue(row[c], v) + v
                if header is None:
                    header = row
                elif row == header:
                    continue                                # the header repeated after a page break
                rows.append(row)
        if len(rows) >= 2:
            out.append(("table", rows))
            i = j
        else:
            out.append(("line", L))
            i += 1
    return out


def assemble_lines(lines: list[_Line]) -> tuple[list[str], int]:
    """Plain layout from positioned lines: tables rebuilt, layout line breaks inside sentences joined."""
    prose = [x for x in lines if len(x.segs) < 3 and len(x.text) >= 8]
    if prose:
        ends = sorted(x.x1 for x in prose)
        right = ends[int(0.9 * (len(ends) - 1))]
        left = statistics.median_low(sorted(x.x0 for x in prose))
    else:
        right, left = max((x.x1 for x in lines), default=0.0), 0.0
    blocks = _tables_and_lines(lines)
    # paragraphs marked by a first-line indent (most lines after a paragraph's short last line are indented):
    # then a line after a sentence end at the right margin that is not indented still continues the paragraph
    after_end = [b for (k, b), (pk, p) in zip(blocks[1:], blocks) if k == pk == "line" and p.text[-1:] in TERMINAL
                 and p.x1 < right - 4 * p.fs and not RE_BLOCK.match(b.text)]
    uses_indent = len(after_end) >= 3 and sum(1 for b in after_end if b.indent or b.x0 > left + 1.2 * b.fs) >= 0.6 * len(after_end)
    out: list[str] = []
    joined = 0
    prev: _Line | None = None
    for kind, b in blocks:
        if kind == "table":
            out.extend(_table_lines(b) + [""])
            prev = None
            continue
        t = b.text
        indented = b.indent or b.x0 > left + 1.2 * b.fs
        if (prev is not None and out and out[-1] and prev.x1 >= right - 4 * prev.fs
                and (out[-1][-1] not in TERMINAL or uses_indent and prev.x1 >= right - 1.5 * prev.fs)
                and not indented and not RE_BLOCK.match(t) and not RE_PAGENO.match(t)):
            out[-1] += _glue(out[-1], t) + t
            joined += 1
        else:
            out.append(t)
        prev = b
    return out, joined
