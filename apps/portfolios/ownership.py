"""Who may open a portfolio's pages: the signed-in owner. Another user's portfolio, or one
that does not exist, is the same 404 for GET and POST alike (no probing of ids)."""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponseBase

from apps.portfolios.models import Portfolio
from apps.portfolios.selectors import portfolio_owned_get


def portfolio_or_404(user_id: int, portfolio_id: int) -> Portfolio:
    portfolio = portfolio_owned_get(user_id=user_id, portfolio_id=portfolio_id)
    if portfolio is None:
        raise Http404("No such portfolio.")
    return portfolio


class PortfolioOwnerMixin(LoginRequiredMixin):
    """Signed in and owning the URL's portfolio (`self.portfolio`), checked before the method."""

    portfolio: Portfolio

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.portfolio = portfolio_or_404(int(request.user.pk or 0), kwargs["portfolio_id"])
        return super().dispatch(request, *args, **kwargs)


class PortfolioOwnerAsync:
    """The same check for an async view, which calls `_admit` first in each method."""

    portfolio: Portfolio

    async def _admit(self, request: HttpRequest, portfolio_id: int) -> HttpResponseBase | None:
        """A redirect to sign in, a 404 for another's portfolio, or None and `self.portfolio`."""
        user = await request.auser()
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        request.user = user  # the lazy one would query the database on the event loop
        self.portfolio = await sync_to_async(portfolio_or_404)(int(user.pk), portfolio_id)
        return None
