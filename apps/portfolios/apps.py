from django.apps import AppConfig


class PortfoliosConfig(AppConfig):
    name = "apps.portfolios"
    label = "portfolios"
    verbose_name = "Portfolios"

    def ready(self) -> None:
        from apps.portfolios.signals import signals_connect

        signals_connect()
