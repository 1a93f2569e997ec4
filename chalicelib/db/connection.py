"""Transactions over one shared pynamodb Connection (creating a botocore client per
transaction would cost more than the transaction)."""
from __future__ import annotations

from functools import lru_cache
from typing import Any, Callable, TypeVar

from pynamodb.connection import Connection
from pynamodb.exceptions import TransactWriteError
from pynamodb.transactions import TransactWrite

from chalicelib import config
from chalicelib.errors import Conflict
from chalicelib.integrations import aws

_T = TypeVar("_T")


@lru_cache(maxsize=1)
def _connection() -> Connection:
    aws.share_loader_with_pynamodb()
    return Connection(region=config.settings().region)


class Cancelled(Exception):
    """A transaction condition failed; `labels` names which ones."""

    def __init__(self, labels: set[str]):
        super().__init__(", ".join(sorted(labels)))
        self.labels = labels


class Transaction:
    """A TransactWrite whose items carry labels, so a cancellation can say *which*
    conditions failed. pynamodb sends condition checks, deletes, puts and then updates,
    whatever order they were added in, and DynamoDB's cancellation reasons follow the
    sent order, so the labels are kept per kind in the same order."""

    _ORDER = ("check", "delete", "put", "update")

    def __init__(self) -> None:
        self._tx = TransactWrite(connection=_connection())
        self._labels: dict[str, list[str]] = {kind: [] for kind in self._ORDER}

    def save(self, model: Any, condition: Any = None, *, label: str = "item") -> None:
        self._tx.save(model, condition=condition)
        self._labels["put"].append(label)

    def update(self, model: Any, actions: list, condition: Any = None, *,
               label: str = "item") -> None:
        self._tx.update(model, actions=actions, condition=condition)
        self._labels["update"].append(label)

    def check(self, model_cls: Any, hash_key: Any, range_key: Any = None, *, condition: Any,
              label: str = "item") -> None:
        """A ConditionCheck: the transaction commits only if `condition` holds for that item."""
        self._tx.condition_check(model_cls, hash_key, range_key, condition=condition)
        self._labels["check"].append(label)

    def delete(self, model: Any, condition: Any = None, *, label: str = "item") -> None:
        self._tx.delete(model, condition=condition)
        self._labels["delete"].append(label)

    def __enter__(self) -> Transaction:
        self._tx.__enter__()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            return None  # nothing was sent; let the caller's error through
        try:
            self._tx.__exit__(None, None, None)
        except TransactWriteError as error:
            sent = [label for kind in self._ORDER for label in self._labels[kind]]
            failed = {sent[i] for i, reason in enumerate(error.cancellation_reasons or [])
                      if reason is not None and i < len(sent)
                      and reason.code == "ConditionalCheckFailed"}
            if failed:
                raise Cancelled(failed) from error
            raise


def transaction() -> Transaction:
    return Transaction()


def reset() -> None:
    _connection.cache_clear()


def until_written(step: Callable[[], _T], *, attempts: int, conflict: str,
                  retry_on: tuple[type[Exception], ...] = (Cancelled,)) -> _T:
    """Run a read-decide-write `step` again while it loses a race (`retry_on`: by default a
    cancelled transaction), each time from a fresh read; after `attempts` tries the caller
    gets a 409 with `conflict` as its message. The one retry rule for agents' writes."""
    for _ in range(attempts - 1):
        try:
            return step()
        except retry_on:
            continue
    try:
        return step()
    except retry_on as exc:
        raise Conflict(conflict) from exc
