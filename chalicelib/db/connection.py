"""One shared pynamodb Connection for transactions (creating a botocore client per
transaction would cost more than the transaction)."""
from __future__ import annotations

from functools import lru_cache

from pynamodb.connection import Connection
from pynamodb.transactions import TransactWrite

from chalicelib import config


@lru_cache(maxsize=1)
def _connection() -> Connection:
    return Connection(region=config.settings().region)


def transaction() -> TransactWrite:
    return TransactWrite(connection=_connection())


def reset() -> None:
    _connection.cache_clear()
