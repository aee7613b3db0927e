"""The portfolio pages: /portfolios/ and below (names are what other pages link by)."""

from django.urls import path

from apps.portfolios.series_api import PortfolioSeriesView
from apps.portfolios.views import (
    PortfolioCreateView,
    PortfolioDeleteView,
    PortfolioDetailView,
    PortfolioEditView,
    PortfolioListView,
    PositionAddView,
    PositionDeleteView,
    PositionEditView,
)

POSITION = "portfolios/<int:portfolio_id>/positions/<int:position_id>"

urlpatterns = [
    path("portfolios/", PortfolioListView.as_view(), name="portfolio-list"),
    path("portfolios/new/", PortfolioCreateView.as_view(), name="portfolio-create"),
    path("portfolios/<int:portfolio_id>/", PortfolioDetailView.as_view(), name="portfolio-detail"),
    path("portfolios/<int:portfolio_id>/edit/", PortfolioEditView.as_view(), name="portfolio-edit"),
    path(
        "portfolios/<int:portfolio_id>/delete/",
        PortfolioDeleteView.as_view(),
        name="portfolio-delete",
    ),
    path(
        "portfolios/<int:portfolio_id>/positions/add/",
        PositionAddView.as_view(),
        name="position-add",
    ),
    path(f"{POSITION}/edit/", PositionEditView.as_view(), name="position-edit"),
    path(f"{POSITION}/delete/", PositionDeleteView.as_view(), name="position-delete"),
    path(
        "api/portfolios/<int:portfolio_id>/series/",
        PortfolioSeriesView.as_view(),
        name="portfolio-series",
    ),
]
