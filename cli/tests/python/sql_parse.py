"""Parses the SQL of `charter export` with sqlglot, statement by statement.

usage: sql_parse.py DIALECT DIR [NAME ...]

DIALECT is sqlglot's (`snowflake`, `databricks`). Every statement must tokenize (quotes and
literals balanced); statements sqlglot models (GRANT, CREATE TABLE, CREATE FUNCTION) must parse
into that expression, not a fallback `Command`; for the policy statements sqlglot has no model
of (`CREATE MASKING POLICY`, `CREATE ROW ACCESS POLICY`, `ALTER TABLE … SET MASK …`), the
expression after `->` (Snowflake) must parse. Every NAME must come back as an identifier or
string literal of some statement, exactly. Prints one summary line; exits 1 with the reasons.
"""

import json
import pathlib
import sys

import sqlglot
from sqlglot import exp
from sqlglot.tokens import TokenType


def statements(text, dialect):
    tokens = sqlglot.Dialect.get_or_raise(dialect).tokenize(text)
    start = None
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            if start is not None:
                yield text[start:token.start], tokens_between(tokens, start, token.start)
            start = None
        elif start is None:
            start = token.start
    if start is not None:
        yield text[start:], tokens_between(tokens, start, len(text))


def tokens_between(tokens, start, end):
    return [t for t in tokens if start <= t.start < end]


MODELLED = {
    "GRANT": exp.Grant,
    "CREATE TABLE": exp.Create,
    "CREATE TABLE IF": exp.Create,
    "CREATE OR REPLACE FUNCTION": exp.Create,
}


def main():
    dialect, folder, names = sys.argv[1], pathlib.Path(sys.argv[2]), set(sys.argv[3:])
    errors, counts, seen = [], {"statements": 0, "modelled": 0, "bodies": 0}, set()
    for path in sorted(folder.glob("*.sql")):
        text = path.read_text()
        try:
            found = list(statements(text, dialect))
        except Exception as e:  # a quote or literal that does not close
            errors.append(f"{path.name}: does not tokenize: {e}")
            continue
        for sql, tokens in found:
            counts["statements"] += 1
            for t in tokens:
                if t.token_type in (TokenType.IDENTIFIER, TokenType.STRING, TokenType.VAR):
                    seen.add(t.text)
            words = [t.text.upper() for t in tokens[:4]]
            head = next(
                (k for k in sorted(MODELLED, key=len, reverse=True) if words[: len(k.split())] == k.split()),
                None,
            )
            if head is not None:
                try:
                    tree = sqlglot.parse_one(sql, read=dialect)
                except Exception as e:
                    errors.append(f"{path.name}: {sql[:80]!r}: {e}")
                    continue
                if not isinstance(tree, MODELLED[head]):
                    errors.append(f"{path.name}: {sql[:80]!r} parsed as {type(tree).__name__}")
                counts["modelled"] += 1
            elif "->" in sql:
                body = sql.split("->", 1)[1]
                try:
                    sqlglot.parse_one(body, read=dialect)
                    counts["bodies"] += 1
                except Exception as e:
                    errors.append(f"{path.name}: policy body {body[:80]!r}: {e}")
    missing = sorted(names - seen)
    if missing:
        errors.append(f"names not found as identifiers or literals: {missing}")
    print(json.dumps(counts))
    for e in errors:
        print(e)
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
