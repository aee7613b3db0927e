"""Routes of the watchlist changes (included once from config/urls.py)."""

from django.urls import path

from apps.portfolios.watchlist_views import (
    WatchlistAddView,
    WatchlistMoveView,
    WatchlistRemoveView,
)

urlpatterns = [
    path("watchlist/add/", WatchlistAddView.as_view(), name="watchlist-add"),
    path("watchlist/<str:symbol>/move/", WatchlistMoveView.as_view(), name="watchlist-move"),
    path("watchlist/<str:symbol>/remove/", WatchlistRemoveView.as_view(), name="watchlist-remove"),
]
