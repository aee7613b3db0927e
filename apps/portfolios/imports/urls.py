"""The import and export pages of a portfolio (the portfolio pages link to them by name)."""

from django.urls import path

from apps.portfolios.imports.views import (
    PortfolioExportView,
    PortfolioImportApplyView,
    PortfolioImportView,
)

urlpatterns = [
    path(
        "portfolios/<int:portfolio_id>/import/",
        PortfolioImportView.as_view(),
        name="portfolio-import",
    ),
    path(
        "portfolios/<int:portfolio_id>/import/apply/",
        PortfolioImportApplyView.as_view(),
        name="portfolio-import-apply",
    ),
    path(
        "portfolios/<int:portfolio_id>/export.csv",
        PortfolioExportView.as_view(),
        name="portfolio-export",
    ),
]
