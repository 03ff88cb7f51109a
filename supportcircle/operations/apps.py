from django.apps import AppConfig


class OperationsConfig(AppConfig):
    """Running SupportCircle for real: health, metrics, the scheduler, backups and the checks that
    warn when production runs without what it needs."""

    name = "supportcircle.operations"
    label = "operations"
    verbose_name = "Operations"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from supportcircle import metrics

        from . import checks  # noqa: F401  (registers them)

        def count_statements(sender, connection, **kwargs) -> None:
            # PostgreSQL's only: there a statement is a network round trip (60 µs of CPU and more) and
            # counting it costs 2%; a SQLite statement takes a few µs, and counting it would cost a fifth.
            if connection.vendor == "postgresql" and metrics.count_statement not in connection.execute_wrappers:
                connection.execute_wrappers.append(metrics.count_statement)

        connection_created.connect(count_statements, weak=False, dispatch_uid="supportcircle.operations.statements")
