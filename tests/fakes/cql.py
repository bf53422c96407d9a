"""A CQL subset for the Confluence fake (see docs/confluence.md#cql-subset).

Fields: type, space, label, id/content, title (= and ~), text ~, ancestor, parent, creator,
lastmodified/created (dates "yyyy-MM-dd[ HH:mm]" or "yyyy/MM/dd[ HH:mm]", now("-4h")).
Operators: = != ~ !~ > >= < <= in / not in; AND OR NOT and parentheses; ORDER BY field [ASC|DESC].
Invalid CQL raises CqlError (the fake answers 400, like Confluence).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo

TOKEN = re.compile(
    r"""\s*(?:(?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|(?P<op>!=|!~|>=|<=|=|~|>|<|\(|\)|,)"""
    r"""|(?P<word>[A-Za-z0-9_.:\-/+]+))"""
)


class CqlError(ValueError):
    pass


Predicate = Callable[[dict], bool]


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise CqlError(f"Could not parse cql : {text}")
        pos = m.end()
        if m.group("str") is not None:
            out.append(("value", m.group("str")[1:-1].replace('\\"', '"')))
        elif m.group("op") is not None:
            out.append(("op", m.group("op")))
        elif m.group("word") is not None:
            out.append(("word", m.group("word")))
    return out


def parse_date(value: str, tz: tzinfo = UTC, now: datetime | None = None) -> datetime:
    """A CQL date, read in the searching user's time zone `tz` (as Confluence does)."""
    now = now or datetime.now(UTC)
    m = re.fullmatch(r'now\(\s*"?([+-]?)(\d+)([mhdw])"?\s*\)', value.strip())
    if m:
        sign = -1 if m.group(1) == "-" else 1
        unit = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}[m.group(3)]
        return now + sign * timedelta(**{unit: int(m.group(2))})
    for fmt in ("%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M", "%Y-%m-%d", "%Y/%m/%d"):
        try:
            return datetime.strptime(value.strip(), fmt).replace(tzinfo=tz)
        except ValueError:
            continue
    raise CqlError(f"Could not parse cql : invalid date {value!r}")


class _Parser:
    def __init__(self, text: str, tz: tzinfo):
        self.tz = tz
        self.toks = _tokens(text)
        self.i = 0
        self.order: tuple[str, bool] | None = None

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise CqlError("Could not parse cql : unexpected end")
        self.i += 1
        return tok

    def keyword(self, word: str) -> bool:
        tok = self.peek()
        if tok and tok[0] == "word" and tok[1].lower() == word:
            self.i += 1
            return True
        return False

    def parse(self) -> Predicate:
        pred = self.expr()
        if self.keyword("order"):
            if not self.keyword("by"):
                raise CqlError("Could not parse cql : expected BY")
            field = self.take()[1].lower()
            desc = self.keyword("desc")
            self.keyword("asc")
            self.order = (field, desc)
        if self.peek() is not None:
            raise CqlError(f"Could not parse cql : unexpected {self.peek()[1]!r}")
        return pred

    def expr(self) -> Predicate:
        left = self.term()
        while self.keyword("or"):
            right = self.term()
            left = (lambda a, b: lambda p: a(p) or b(p))(left, right)
        return left

    def term(self) -> Predicate:
        left = self.factor()
        while self.keyword("and"):
            right = self.factor()
            left = (lambda a, b: lambda p: a(p) and b(p))(left, right)
        return left

    def factor(self) -> Predicate:
        if self.keyword("not"):
            inner = self.factor()
            return lambda p: not inner(p)
        tok = self.peek()
        if tok == ("op", "("):
            self.take()
            inner = self.expr()
            if self.take() != ("op", ")"):
                raise CqlError("Could not parse cql : expected )")
            return inner
        return self.clause()

    def value(self) -> str:
        kind, text = self.take()
        if kind == "op" and text != "(":
            raise CqlError(f"Could not parse cql : unexpected {text!r}")
        if kind == "word" and text.lower() == "now" and self.peek() == ("op", "("):
            self.take()
            arg = "" if self.peek() == ("op", ")") else self.take()[1]
            self.take()
            return f'now("{arg}")'
        return text

    def clause(self) -> Predicate:
        kind, field = self.take()
        if kind != "word":
            raise CqlError(f"Could not parse cql : expected a field, got {field!r}")
        field = field.lower()
        if self.keyword("not"):
            if not self.keyword("in"):
                raise CqlError("Could not parse cql : expected IN")
            values = self.values()
            return _field_pred(field, "not in", values, self.tz)
        if self.keyword("in"):
            return _field_pred(field, "in", self.values(), self.tz)
        kind, op = self.take()
        if kind != "op":
            raise CqlError(f"Could not parse cql : expected an operator after {field}")
        return _field_pred(field, op, [self.value()], self.tz)

    def values(self) -> list[str]:
        if self.take() != ("op", "("):
            raise CqlError("Could not parse cql : expected (")
        values = [self.value()]
        while self.peek() == ("op", ","):
            self.take()
            values.append(self.value())
        if self.take() != ("op", ")"):
            raise CqlError("Could not parse cql : expected )")
        return values


FIELDS = {
    "type",
    "space",
    "label",
    "id",
    "content",
    "title",
    "text",
    "ancestor",
    "parent",
    "creator",
    "lastmodified",
    "created",
}


def _field_pred(field: str, op: str, values: list[str], tz: tzinfo) -> Predicate:
    if field not in FIELDS:
        raise CqlError(f"Could not parse cql : unknown field {field!r}")
    if field in ("lastmodified", "created"):
        when = parse_date(values[0], tz)
        # Confluence compares at minute precision.
        when = when.replace(second=0, microsecond=0)

        def date_pred(p: dict) -> bool:
            value = p[field].replace(second=0, microsecond=0)
            return {
                "=": value == when,
                "!=": value != when,
                ">": value > when,
                ">=": value >= when,
                "<": value < when,
                "<=": value <= when,
            }[op]

        if op not in ("=", "!=", ">", ">=", "<", "<="):
            raise CqlError(f"Could not parse cql : operator {op} not valid for {field}")
        return date_pred

    def get(p: dict) -> list[str]:
        value = p.get("id" if field == "content" else field)
        return [str(v) for v in value] if isinstance(value, list | set | tuple) else [str(value)]

    lowered = [v.lower() for v in values]
    if op in ("=", "in"):
        return lambda p: any(v.lower() in lowered for v in get(p))
    if op in ("!=", "not in"):
        return lambda p: not any(v.lower() in lowered for v in get(p))
    if op == "~":
        return lambda p: any(lowered[0] in v.lower() for v in get(p))
    if op == "!~":
        return lambda p: not any(lowered[0] in v.lower() for v in get(p))
    raise CqlError(f"Could not parse cql : operator {op} not valid for {field}")


def compile_cql(text: str, tz: tzinfo = UTC) -> tuple[Predicate, tuple[str, bool] | None]:
    """Predicate over a page dict (keys: FIELDS; dates as aware datetimes) and the ORDER BY."""
    parser = _Parser(text, tz)
    pred = parser.parse()
    return pred, parser.order
