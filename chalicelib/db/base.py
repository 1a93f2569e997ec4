"""A pynamodb base model whose table name is bound lazily from settings.

Table names differ per stage and come from the environment, which must not be read at import
time; pynamodb builds its connection on first use, so that is where the name is bound.
"""
from __future__ import annotations

from pynamodb.models import Model

from chalicelib import config
from chalicelib.integrations import aws


class SetuModel(Model):
    class Meta:
        abstract = True
        logical_table = ""

    @classmethod
    def _get_connection(cls):  # type: ignore[override]
        if cls._connection is None:

            aws.share_loader_with_pynamodb()
            current = config.settings()
            cls.Meta.table_name = current.table(cls.Meta.logical_table)
            cls.Meta.region = current.region
        return super()._get_connection()

