"""A tiny subset of CQL (Croct Query Language) for the sandbox's evaluate endpoint.

Enough for demos and tests: literals (true, false, null, numbers, 'strings',
"strings", [lists]), possessive paths (``context's plan``, ``context's a's b``,
``location's cityName``), comparisons (is, is not, ==, !=, >, <, >=, <=), include(s),
and/or/not and parentheses. Errors carry the offending token's location as Croct
reports it: ``{start: {line, column, index}, end: {…}}`` (1-based line and column,
0-based index, end exclusive).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# A fixed visitor location, so `location's cityName` is deterministic.
LOCATION = {
    "cityName": "New York",
    "regionName": "New York",
    "regionCode": "NY",
    "countryName": "United States",
    "countryCode": "US",
    "continentName": "North America",
    "continentCode": "NA",
}
VARIABLES = ("context", "location", "page", "campaign", "timeZone")
_MAX_NESTING = 32
_KEYWORDS = {"true", "false", "null", "and", "or", "not", "is", "include", "includes"}
_TOKEN_RE = re.compile(
    r"""(?P<space>\s+)
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<possessive>'s\b)
      | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
      | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<op>==|!=|>=|<=|>|<|\(|\)|\[|\]|,)
    """,
    re.VERBOSE,
)


_SINGLE_QUOTED_RE = re.compile(r"'(?:[^'\\]|\\.)*'")


@dataclass(frozen=True)
class Token:
    kind: str  # number, string, ident, keyword, possessive, op, end
    text: str
    start: int
    end: int


class CqlError(Exception):
    """``code``: invalid-query (does not parse) or evaluation-failed (does not run)."""

    def __init__(self, code: str, cause: str, source: str, start: int, end: int):
        super().__init__(cause)
        self.code = code
        self.cause = cause
        self.location = {"start": _position(source, start), "end": _position(source, end)}

    def as_error(self) -> dict[str, Any]:
        return {"cause": self.cause, "location": self.location}


def _position(source: str, index: int) -> dict[str, int]:
    line = source.count("\n", 0, index) + 1
    column = index - (source.rfind("\n", 0, index) + 1) + 1
    return {"line": line, "column": column, "index": index}


def tokenize(source: str) -> list[Token]:
    tokens: list[Token] = []
    index = 0
    while index < len(source):
        match = _TOKEN_RE.match(source, index)
        if match is None:
            if source[index] in "'\"":
                raise CqlError("invalid-query", "Unterminated string.", source, index, len(source))
            raise CqlError(
                "invalid-query",
                f"Unexpected character '{source[index]}'.",
                source,
                index,
                index + 1,
            )
        kind = match.lastgroup or ""
        text = match.group()
        # `'s` is a possessive only right after a name (an attribute may be named like
        # a keyword: `context's not`); elsewhere it opens a string ('s...').
        if kind == "possessive" and not _after_name(tokens):
            match = _SINGLE_QUOTED_RE.match(source, index)
            if match is None:
                raise CqlError("invalid-query", "Unterminated string.", source, index, len(source))
            kind, text = "string", match.group()
        if kind == "ident" and text in _KEYWORDS:
            kind = "keyword"
        if kind != "space":
            tokens.append(Token(kind, text, index, index + len(text)))
        index += len(text)
    tokens.append(Token("end", "", len(source), len(source)))
    return tokens


def _after_name(tokens: list[Token]) -> bool:
    if not tokens:
        return False
    if tokens[-1].kind == "ident":
        return True
    return tokens[-1].kind == "keyword" and len(tokens) > 1 and tokens[-2].kind == "possessive"


class _Parser:
    def __init__(self, source: str):
        self.source = source
        self.tokens = tokenize(source)
        self.pos = 0
        self.depth = 0

    @property
    def token(self) -> Token:
        return self.tokens[self.pos]

    def fail(self, token: Token, cause: str | None = None) -> CqlError:
        if cause is None:
            cause = (
                "Unexpected end of query."
                if token.kind == "end"
                else f"Unexpected token '{token.text}'."
            )
        return CqlError(
            "invalid-query", cause, self.source, token.start, max(token.end, token.start)
        )

    def take(self, kind: str, text: str | None = None) -> Token | None:
        token = self.token
        if token.kind == kind and (text is None or token.text == text):
            self.pos += 1
            return token
        return None

    def parse(self) -> tuple:
        node = self.expression()
        if self.token.kind != "end":
            raise self.fail(self.token)
        return node

    def expression(self) -> tuple:
        self.depth += 1
        if self.depth > _MAX_NESTING:
            raise self.fail(self.token, "The query is nested too deeply.")
        node = self.conjunction()
        while (op := self.take("keyword", "or")) is not None:
            node = ("or", op, node, self.conjunction())
        self.depth -= 1
        return node

    def conjunction(self) -> tuple:
        node = self.negation()
        while (op := self.take("keyword", "and")) is not None:
            node = ("and", op, node, self.negation())
        return node

    def negation(self) -> tuple:
        if (op := self.take("keyword", "not")) is not None:
            return ("not", op, self.negation())
        return self.comparison()

    def comparison(self) -> tuple:
        left = self.operand()
        token = self.token
        if token.kind == "keyword" and token.text == "is":
            self.pos += 1
            negated = self.take("keyword", "not") is not None
            return ("!=" if negated else "==", token, left, self.operand())
        if token.kind == "keyword" and token.text in ("include", "includes"):
            self.pos += 1
            return ("include", token, left, self.operand())
        if token.kind == "op" and token.text in ("==", "!=", ">", "<", ">=", "<="):
            self.pos += 1
            return (token.text, token, left, self.operand())
        return left

    def operand(self) -> tuple:
        token = self.token
        if token.kind == "number":
            self.pos += 1
            return ("lit", token, float(token.text) if "." in token.text else int(token.text))
        if token.kind == "string":
            self.pos += 1
            return ("lit", token, re.sub(r"\\(.)", r"\1", token.text[1:-1]))
        if token.kind == "keyword" and token.text in ("true", "false", "null"):
            self.pos += 1
            return ("lit", token, {"true": True, "false": False, "null": None}[token.text])
        if self.take("op", "(") is not None:
            node = self.expression()
            if self.take("op", ")") is None:
                raise self.fail(self.token)
            return node
        if self.take("op", "[") is not None:
            items = []
            if self.take("op", "]") is None:
                items.append(self.expression())
                while self.take("op", ",") is not None:
                    items.append(self.expression())
                if self.take("op", "]") is None:
                    raise self.fail(self.token)
            return ("list", token, items)
        if token.kind == "ident":
            if token.text not in VARIABLES:
                raise self.fail(token, f"Unknown variable '{token.text}'.")
            self.pos += 1
            path = []
            while self.take("possessive") is not None:
                name = self.take("ident") or self.take("keyword")
                if name is None:
                    raise self.fail(self.token, "Expected an attribute name after 's.")
                path.append(name.text)
            return ("path", token, token.text, tuple(path))
        raise self.fail(token)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def evaluate(source: str, context: Mapping[str, Any] | None) -> Any:
    """The query's JSON result; raises :class:`CqlError`."""
    tree = _Parser(source).parse()
    context = context or {}
    variables = {
        "context": context.get("attributes") or {},
        "location": LOCATION,
        "page": context.get("page") or {},
        "campaign": context.get("campaign") or {},
        "timeZone": context.get("timeZone"),
    }

    def fail(token: Token, cause: str) -> CqlError:
        return CqlError("evaluation-failed", cause, source, token.start, token.end)

    def run(node: tuple) -> Any:
        kind, token = node[0], node[1]
        if kind == "lit":
            return node[2]
        if kind == "list":
            return [run(item) for item in node[2]]
        if kind == "path":
            value: Any = variables[node[2]]
            for name in node[3]:
                value = value.get(name) if isinstance(value, Mapping) else None
            return value
        if kind == "not":
            return not run(node[2])
        if kind == "and":
            return bool(run(node[2])) and bool(run(node[3]))
        if kind == "or":
            return bool(run(node[2])) or bool(run(node[3]))
        left, right = run(node[2]), run(node[3])
        if kind in ("==", "!="):
            # true is not 1 in CQL, though it is in Python.
            same = _type(left) == _type(right) and left == right
            return same if kind == "==" else not same
        if kind == "include":
            if isinstance(left, str) and isinstance(right, str):
                return right in left
            if isinstance(left, list):
                return right in left
            raise fail(token, "Only lists and strings can include values.")
        comparable = (_number(left) and _number(right)) or (
            isinstance(left, str) and isinstance(right, str)
        )
        if not comparable:
            raise fail(token, f"Cannot compare {_type(left)} with {_type(right)}.")
        return {">": left > right, "<": left < right, ">=": left >= right, "<=": left <= right}[
            kind
        ]

    return run(tree)


def _type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if _number(value):
        return "number"
    return {str: "string", list: "list", dict: "map"}.get(type(value), "value")
