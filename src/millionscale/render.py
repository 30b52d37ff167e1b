"""Records shown to a person at a terminal, or to a pipe: one renderable, three layouts.

Every listing of the command line (``status``, ``db status``, ``lb status``,
``estimate latency``) is a :class:`Records`: columns and rows of cells. How it
is laid out depends on where it goes, decided when it is printed:

- **a terminal wide enough**: a rich table. Identifying cells (names,
  addresses, numbers, states) are never wrapped nor truncated; only free-text
  columns (notes, errors) wrap, at word boundaries, and never narrower than
  :data:`MIN_TEXT_WIDTH` (or their longest word).
- **a terminal too narrow for that**, but wide enough for the identifying
  columns: the table without its free-text columns, and under it one
  paragraph per record that has free text (``name: text``).
- **a terminal narrower still**: one record per paragraph, ``name  header
  value  header value ...``, wrapped between words, so an address is still
  whole.
- **anything else** (a pipe, a file): plain text with no box drawing, colour or
  width limit: the title, a header line, then one line per record, columns
  aligned and separated by two spaces, the last one not padded. Print it on a
  console that does not crop long lines (``soft_wrap=True``), as the command
  line's is when its output is not a terminal.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rich import box
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text

__all__ = ["MIN_TEXT_WIDTH", "Cell", "Column", "Records"]

MIN_TEXT_WIDTH = 16  # narrower, a note reads a word or two per line: show records instead
GAP = "  "  # between plain columns

Cell = str | int | float | Text | None  # None shows as "-"


@dataclass(frozen=True, slots=True)
class Column:
    """One column: its header, whether it is free text (may wrap), and its alignment."""

    header: str
    free_text: bool = False
    right: bool = False


def _text(cell: Cell) -> Text:
    if isinstance(cell, Text):
        return cell
    if cell is None:
        return Text("-")
    return Text(" ".join(str(cell).split()))  # one line: a newline in a note would break rows


@dataclass(frozen=True, slots=True)
class Records:
    """Rows of cells under column headers; a rich renderable (see the module's doc)."""

    columns: tuple[Column, ...]
    rows: tuple[tuple[Text, ...], ...]
    title: str | None = None

    @classmethod
    def of(
        cls,
        columns: Sequence[Column | str],
        rows: Iterable[Sequence[Cell]],
        *,
        title: str | None = None,
    ) -> Records:
        heads = tuple(c if isinstance(c, Column) else Column(c) for c in columns)
        cells = tuple(tuple(_text(cell) for cell in row) for row in rows)
        for row in cells:
            if len(row) != len(heads):
                raise ValueError(f"a row of {len(row)} cells under {len(heads)} columns")
        return cls(heads, cells, title)

    # -- the three layouts -------------------------------------------------------

    def plain_lines(self) -> list[str]:
        """Header and rows as aligned plain text (no colour, no box, no width limit)."""
        grid = [[c.header for c in self.columns]] + [[t.plain for t in r] for r in self.rows]
        widths = [max(cell_len(row[i]) for row in grid) for i in range(len(self.columns))]
        lines = [self.title] if self.title else []
        for row in grid:
            cells = []
            for i, (cell, column) in enumerate(zip(row, self.columns, strict=True)):
                pad = " " * (widths[i] - cell_len(cell))
                last = i == len(row) - 1
                cells.append(pad + cell if column.right else cell + ("" if last else pad))
            lines.append(GAP.join(cells).rstrip())
        return lines

    def record_texts(self) -> list[Text]:
        """One paragraph per record: its first cell, then ``header value`` pairs."""
        texts = [Text(self.title, style="bold")] if self.title else []
        for row in self.rows:
            text = Text(no_wrap=False, overflow="fold")
            first = row[0].copy()
            first.stylize("bold")
            text.append_text(first)
            for column, cell in zip(self.columns[1:], row[1:], strict=True):
                if cell.plain:
                    text.append(f"  {column.header} ", style="dim")
                    text.append_text(cell)
            texts.append(text)
        return texts

    def without_free_text(self) -> Records:
        """The same records without their free-text columns."""
        keep = [i for i, c in enumerate(self.columns) if not c.free_text]
        return Records(
            tuple(self.columns[i] for i in keep),
            tuple(tuple(row[i] for i in keep) for row in self.rows),
            self.title,
        )

    def free_text_notes(self) -> list[Text]:
        """Each record's free text, as ``name: text`` (``name header: text`` when several
        columns hold free text)."""
        free = [i for i, c in enumerate(self.columns) if c.free_text]
        notes = []
        for row in self.rows:
            for i in free:
                if row[i].plain:
                    text = Text(no_wrap=False, overflow="fold")
                    text.append(row[0].plain, style="bold")
                    text.append(f" {self.columns[i].header}: " if len(free) > 1 else ": ")
                    text.append_text(row[i])
                    notes.append(text)
        return notes

    def table(self) -> Table:
        """The rich table: identifying columns kept whole, free text wrapping."""
        table = Table(
            title=self.title,
            title_justify="left",
            box=box.SIMPLE_HEAD,
            show_edge=False,
            pad_edge=False,
        )
        for column, width in zip(self.columns, self._min_widths(), strict=True):
            table.add_column(
                column.header,
                justify="right" if column.right else "left",
                no_wrap=not column.free_text,
                overflow="fold" if column.free_text else "ellipsis",
                min_width=width if column.free_text else None,
            )
        for row in self.rows:
            table.add_row(*row)
        return table

    # -- choosing one ------------------------------------------------------------

    def _min_widths(self) -> list[int]:
        """Each column's narrowest width without truncating an identifying cell."""
        widths = []
        for i, column in enumerate(self.columns):
            cells = [self.columns[i].header] + [row[i].plain for row in self.rows]
            natural = max(cell_len(cell) for cell in cells)
            if column.free_text:
                word = max((cell_len(w) for cell in cells for w in cell.split()), default=1)
                widths.append(min(natural, max(word, MIN_TEXT_WIDTH)))
            else:
                widths.append(natural)
        return widths

    def min_table_width(self) -> int:
        """The width the table needs (cells, padding, column rules), as rich lays it out."""
        n = len(self.columns)
        padding = 2 * n - 2  # one space either side of a cell, none at the edges
        rules = n - 1  # SIMPLE_HEAD without edges: one rule between columns
        return sum(self._min_widths()) + padding + rules

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if not console.is_terminal:
            for line in self.plain_lines():
                yield Text(line, no_wrap=True, overflow="ignore")
        elif self.min_table_width() <= options.max_width:
            yield self.table()
        elif (narrow := self.without_free_text()).min_table_width() <= options.max_width:
            yield narrow.table()
            yield from self.free_text_notes()
        else:
            yield from self.record_texts()
