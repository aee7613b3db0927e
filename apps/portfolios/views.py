"""The portfolio pages: the list, one page per portfolio (every position live), and the forms
that create, rename and delete portfolios and add, change and remove positions.

Login required; a portfolio or position that is not the user's is a 404 for every method,
the same as one that does not exist. Pages render their figures server-side (from the same
valuation the pipeline pushes), then follow `portfolio_update` over the socket.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views import View
from django.views.generic import FormView, TemplateView

from apps.market.requests import LookupStatus, assets_lookup_request
from apps.portfolios.currency_codes import COMMON
from apps.portfolios.forms import PortfolioForm, PositionAddForm, PositionEditForm
from apps.portfolios.holdings import HeldValuation, portfolios_value_held
from apps.portfolios.models import Position
from apps.portfolios.ownership import PortfolioOwnerAsync, PortfolioOwnerMixin
from apps.portfolios.selectors import (
    assets_currencies,
    portfolios_of_user,
    position_owned_get,
)
from apps.portfolios.services import (
    PortfolioNameTaken,
    PositionExists,
    portfolio_create,
    portfolio_delete,
    portfolio_update,
    position_add,
    position_remove,
    position_update,
)
from apps.portfolios.updates import portfolio_update_payload
from apps.portfolios.valuation import Valuation, portfolios_value
from apps.streams.frames import ServerType, frame_encode

# How long the add form waits for a worker to look a new symbol up (the sources get 8 s of
# it, apps/market/lookup.py); past it the user is told to try again and nothing is saved.
# What the row template needs of a position, empty (portfolio.js fills in a clone of it).
BLANK_HOLDING: dict[str, Any] = {
    "symbol": "", "name": "", "position_id": 0, "missing": [], "currency": "", "stale": False,
    **dict.fromkeys((
        "quantity", "price", "value", "daily_change", "daily_change_percent", "unrealised_gain",
        "weight", "stale_reason", "quote_time",
    )),
}  # fmt: skip


def _user_id(request: HttpRequest) -> int:
    """The logged-in user's id (the views check the login first)."""
    return int(request.user.pk or 0)


def _payload_data(valuation: Valuation) -> dict[str, Any]:
    """The `data` of the portfolio's `portfolio_update`, as the socket would deliver it."""
    text = frame_encode(ServerType.PORTFOLIO_UPDATE, portfolio_update_payload(valuation))
    return dict(orjson.loads(text)["data"])


class PositionOwnerMixin(PortfolioOwnerMixin):
    """The URL's position too (`self.position`), within the URL's portfolio."""

    position: Position

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.user.is_authenticated:
            position = position_owned_get(
                user_id=request.user.pk,
                portfolio_id=kwargs["portfolio_id"],
                position_id=kwargs["position_id"],
            )
            if position is None:
                raise Http404("No such position.")
            self.position = position
        return super().dispatch(request, *args, **kwargs)


# --- portfolios ----------------------------------------------------------------------------


class PortfolioListView(LoginRequiredMixin, TemplateView):
    """Every portfolio of the user with its total, live."""

    template_name = "portfolios/list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        rows = portfolios_of_user(user_id=_user_id(self.request))
        values = {v.portfolio_id: v for v in portfolios_value([row["id"] for row in rows])}
        cards = []
        for row in rows:
            valuation = values.get(row["id"]) or HeldValuation.empty(
                row["id"], row["name"], row["base_currency"]
            )
            cards.append({**row, "valuation": valuation, "data": _payload_data(valuation)})
        context["cards"] = cards
        context["initial"] = [card["data"] for card in cards]
        return context


class PortfolioDetailView(PortfolioOwnerMixin, TemplateView):
    """Totals and every position, sortable, following the portfolio's live updates."""

    template_name = "portfolios/detail.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        portfolio = self.portfolio
        valued = portfolios_value_held([portfolio.pk])
        valuation = (
            valued[0]
            if valued
            else HeldValuation.empty(portfolio.pk, portfolio.name, portfolio.base_currency)
        )
        context.update(
            portfolio=portfolio,
            valuation=valuation,
            initial=_payload_data(valuation),
            # The shape of a row for a position that arrives live (added in another tab).
            blank_holding=BLANK_HOLDING,
            # The bounds of the rings the charts read, kept as live points are added.
            intraday_points=settings.REALTIME_INTRADAY_POINTS,
            value_points=settings.PORTFOLIO_INTRADAY_POINTS,
        )
        return context


class PortfolioCreateView(LoginRequiredMixin, FormView):
    template_name = "portfolios/portfolio_form.html"
    form_class = PortfolioForm
    extra_context = {"common_currencies": COMMON}

    def get_form_kwargs(self) -> dict[str, Any]:
        return {**super().get_form_kwargs(), "user_id": _user_id(self.request)}

    def form_valid(self, form: PortfolioForm) -> HttpResponse:
        try:
            portfolio = portfolio_create(owner_id=_user_id(self.request), **form.cleaned_data)
        except PortfolioNameTaken:
            form.add_error("name", "You already have a portfolio of that name.")
            return self.form_invalid(form)
        messages.success(self.request, f"Portfolio “{portfolio.name}” created.")
        return redirect("portfolio-detail", portfolio_id=portfolio.pk)


class PortfolioEditView(PortfolioOwnerMixin, FormView):
    """Rename a portfolio or change its base currency."""

    template_name = "portfolios/portfolio_form.html"
    form_class = PortfolioForm
    extra_context = {"common_currencies": COMMON}

    def get_form_kwargs(self) -> dict[str, Any]:
        return {
            **super().get_form_kwargs(),
            "user_id": _user_id(self.request),
            "portfolio_id": self.portfolio.pk,
        }

    def get_initial(self) -> dict[str, Any]:
        return {"name": self.portfolio.name, "base_currency": self.portfolio.base_currency}

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(portfolio=self.portfolio, **kwargs)

    def form_valid(self, form: PortfolioForm) -> HttpResponse:
        try:
            portfolio_update(portfolio=self.portfolio, **form.cleaned_data)
        except PortfolioNameTaken:
            form.add_error("name", "You already have a portfolio of that name.")
            return self.form_invalid(form)
        messages.success(self.request, "Portfolio saved.")
        return redirect("portfolio-detail", portfolio_id=self.portfolio.pk)


class PortfolioDeleteView(PortfolioOwnerMixin, TemplateView):
    """GET asks for confirmation; POST deletes the portfolio with its positions."""

    template_name = "portfolios/confirm_delete.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(
            portfolio=self.portfolio,
            what=f"the portfolio “{self.portfolio.name}” and its "
            f"{self.portfolio.positions.count()} position(s)",
            cancel_url=reverse("portfolio-detail", args=[self.portfolio.pk]),
            **kwargs,
        )

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        name = self.portfolio.name
        portfolio_delete(portfolio=self.portfolio)
        messages.success(request, f"Portfolio “{name}” deleted.")
        return redirect("portfolio-list")


# --- positions -----------------------------------------------------------------------------


class PositionAddView(PortfolioOwnerAsync, View):
    """Add a position. A new symbol waits (up to SYMBOL_LOOKUP_WAIT_SECONDS) for a worker to look it
    up; the view is async and waits in a thread of its own (`asyncio.to_thread`), so neither
    the event loop that serves every other request of the process nor a request's sync thread
    is held while it lasts. Nothing is saved unless the symbol is known."""

    template_name = "portfolios/position_form.html"

    async def get(self, request: HttpRequest, portfolio_id: int) -> HttpResponseBase:
        if refused := await self._admit(request, portfolio_id):
            return refused
        return await self._render(request, PositionAddForm(portfolio=self.portfolio))

    async def post(self, request: HttpRequest, portfolio_id: int) -> HttpResponseBase:
        if refused := await self._admit(request, portfolio_id):
            return refused
        form = PositionAddForm(request.POST, portfolio=self.portfolio)
        if await sync_to_async(form.is_valid)() and form.needs_lookup:
            await self._symbol_look_up(form)
        if form.is_valid():  # the lookup may have added an error
            try:
                await sync_to_async(position_add)(portfolio=self.portfolio, **form.cleaned_data)
            except PositionExists:
                form.add_error("symbol", "This portfolio already holds it: change that position.")
            else:
                data = form.cleaned_data
                messages.success(request, f"Added {data['quantity']:f} {data['symbol']}.")
                return redirect("portfolio-detail", portfolio_id=self.portfolio.pk)
        return await self._render(request, form)

    @staticmethod
    async def _symbol_look_up(form: PositionAddForm) -> None:
        symbol = form.cleaned_data["symbol"]
        checks = await asyncio.to_thread(
            assets_lookup_request, symbols=[symbol], timeout=settings.SYMBOL_LOOKUP_WAIT_SECONDS
        )
        check = checks[symbol]
        if check.status is LookupStatus.UNKNOWN:
            form.add_error(
                "symbol",
                f"{symbol} is not a symbol our price sources know ({check.reason}). "
                "Check the ticker, as Yahoo Finance writes it: AAPL, SAP.DE, BTC-USD.",
            )
        elif check.status is LookupStatus.FAILED:
            form.add_error(
                "symbol",
                f"{symbol} could not be checked right now ({check.reason}). Nothing was "
                "saved: try again in a moment.",
            )

    async def _render(self, request: HttpRequest, form: PositionAddForm) -> HttpResponse:
        def page() -> HttpResponse:
            return render(request, self.template_name, {
                "form": form, "portfolio": self.portfolio, "adding": True,
                "currencies": assets_currencies(),
            })  # fmt: skip

        return await sync_to_async(page)()


class PositionEditView(PositionOwnerMixin, FormView):
    """Change a position's quantity or cost basis (its symbol stays: remove and add instead)."""

    template_name = "portfolios/position_form.html"
    form_class = PositionEditForm

    def get_form_kwargs(self) -> dict[str, Any]:
        return {**super().get_form_kwargs(), "currency": self.position.asset.currency}

    def get_initial(self) -> dict[str, Any]:
        return {
            # Plain digits: normalize() alone makes 100 "1E+2" in the field.
            "quantity": f"{self.position.quantity.normalize():f}",
            "cost_basis": f"{self.position.cost_basis.normalize():f}",
        }

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(
            portfolio=self.portfolio, position=self.position, adding=False, **kwargs
        )

    def form_valid(self, form: PositionEditForm) -> HttpResponse:
        position_update(position=self.position, **form.cleaned_data)
        messages.success(self.request, f"{self.position.asset.symbol} saved.")
        return redirect("portfolio-detail", portfolio_id=self.portfolio.pk)


class PositionDeleteView(PositionOwnerMixin, TemplateView):
    """GET asks for confirmation; POST removes the position."""

    template_name = "portfolios/confirm_delete.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(
            portfolio=self.portfolio,
            what=f"the position of {self.position.quantity.normalize():f} "
            f"{self.position.asset.symbol} from “{self.portfolio.name}”",
            cancel_url=reverse("portfolio-detail", args=[self.portfolio.pk]),
            **kwargs,
        )

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        symbol = self.position.asset.symbol
        position_remove(position=self.position)
        messages.success(request, f"{symbol} removed.")
        return redirect("portfolio-detail", portfolio_id=self.portfolio.pk)
