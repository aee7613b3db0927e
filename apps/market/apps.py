from django.apps import AppConfig


class MarketConfig(AppConfig):
    name = "apps.market"
    label = "market"
    verbose_name = "Market data"

    def ready(self) -> None:
        from apps.market.signals import signals_connect

        signals_connect()
