"""Counts the SQL statements each request executes (Django's `connection.execute_wrapper`, the
same cursor calls DEBUG's `connection.queries` records) and answers them in `X-SQL-Count`."""
from django.db import connection


class SqlCountMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        count = 0

        def counting(execute, sql, params, many, context):
            nonlocal count
            count += 1
            return execute(sql, params, many, context)

        with connection.execute_wrapper(counting):
            response = self.get_response(request)
        response["X-SQL-Count"] = str(count)
        return response
