from django.apps import AppConfig


class PortfoliosConfig(AppConfig):
    name = "apps.portfolios"
    label = "portfolios"
    verbose_name = "Portfolios"
