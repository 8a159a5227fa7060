"""The rule base: one small class per rule, a stable ``code`` and one ``validate()``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import ClassVar, Generic, TypeVar

from ...errors import QueryError

R = TypeVar("R", contravariant=True)


class Rule(Generic[R]):
    """A check on a typed request; ``fail`` raises ``QueryError`` with the rule's code."""

    code: ClassVar[str] = "rule"

    def validate(self, request: R) -> None:
        raise NotImplementedError

    def fail(self, message: str) -> None:
        raise QueryError(message, code=self.code)


def check_rules(rules: Iterable[Rule[R]], request: R) -> None:
    for rule in rules:
        rule.validate(request)
