"""The dashboard and the test console: pages that talk to the socket like any client."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import resolve_url
from django.views.generic import TemplateView

from apps.portfolios.selectors import portfolios_of_user
from apps.portfolios.watchlist import (
    WATCHLIST_MAX,
    WatchRow,
    assets_rows,
    held_rows,
    watchlist_rows,
)
from apps.portfolios.watchlist_views import watchlist_problem_take


class DashboardView(TemplateView):
    """Live prices of what the user watches and holds, and their portfolios; signed out, the
    public market list (REALTIME_PUBLIC_SYMBOLS), or the sign-in page when that is off."""

    template_name = "realtime/dashboard.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated and not settings.REALTIME_PUBLIC_MARKET:
            return redirect_to_login(request.get_full_path())
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["login_url"] = resolve_url(settings.LOGIN_URL)
        context["intraday_points"] = settings.REALTIME_INTRADAY_POINTS  # the sparklines' bound
        user = self.request.user
        if not user.is_authenticated:
            context["watchlist"] = assets_rows(symbols=settings.REALTIME_PUBLIC_SYMBOLS)
            context["row_kind"] = "public"
            return context
        watchlist = watchlist_rows(user_id=user.pk)
        context.update(
            watchlist=watchlist,
            held=held_rows(user_id=user.pk, exclude=[row.symbol for row in watchlist]),
            portfolios=portfolios_of_user(user_id=user.pk),
            problem=watchlist_problem_take(self.request),
            watchlist_max=WATCHLIST_MAX,
            row_kind="watch",
            blank_row=WatchRow(symbol="", name="", asset_type="", currency="", exchange=""),
        )
        return context


class TestConsoleView(TemplateView):
    """Send any message, see every frame: for checking a deployment by hand."""

    template_name = "realtime/test.html"
