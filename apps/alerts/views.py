"""The alert pages: /alerts/ (the person's alerts, each with its state, and the recent
firings), the form that sets or edits one, delete, and pause/resume.

Login required; another person's alert is a 404 for every method, the same as one that does
not exist. The form pages are async: a symbol new to the database waits on a worker's lookup
(as the watchlist and the position form do) in a thread of its own.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal
from functools import partial
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.contrib.auth.views import redirect_to_login
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.views import View
from django.views.generic import TemplateView

from apps.alerts.forms import AlertForm
from apps.alerts.models import Alert, AlertCondition
from apps.alerts.selectors import (
    AlertRow,
    alert_describe,
    alert_events_recent,
    alert_owned_get,
    alert_rows,
    alerts_of_user,
)
from apps.alerts.services import (
    AlertInvalid,
    AlertSymbolNotKnown,
    AlertTarget,
    alert_create,
    alert_delete,
    alert_pause,
    alert_target_resolve,
    alert_update,
)
from apps.market.models import Asset
from apps.market.requests import LookupStatus, assets_lookup_request
from apps.market.symbols import InvalidSymbol, symbol_normalize
from apps.portfolios.models import Portfolio
from apps.portfolios.selectors import assets_currencies, portfolio_owned_get, portfolios_of_user

TRUE_WORDS = {"1", "true", "on", "yes"}


def _user_id(request: HttpRequest) -> int:
    return int(request.user.pk or 0)


def alert_or_404(user_id: int, alert_id: int) -> Alert:
    alert = alert_owned_get(user_id=user_id, alert_id=alert_id)
    if alert is None:
        raise Http404("No such alert.")
    return alert


# --- the list ----------------------------------------------------------------------------------


class AlertListView(LoginRequiredMixin, TemplateView):
    """The person's alerts (optionally of one symbol or one portfolio) and recent firings."""

    template_name = "alerts/list.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        user_id = _user_id(self.request)
        symbol, portfolio = self._filters(user_id)
        alerts = alerts_of_user(
            user_id=user_id, symbol=symbol, portfolio_id=portfolio.pk if portfolio else None
        )
        prefill = {"symbol": symbol} if symbol else {}
        if portfolio is not None:
            prefill = {"portfolio": str(portfolio.pk)}
        context.update(
            rows=alert_rows(alerts),
            events=list(alert_events_recent(user_id=user_id)),
            filter_symbol=symbol,
            filter_portfolio=portfolio,
            new_url=reverse("alert-create") + (f"?{urlencode(prefill)}" if prefill else ""),
        )
        return context

    def _filters(self, user_id: int) -> tuple[str | None, Portfolio | None]:
        """?symbol=X (any text: one that is no ticker matches nothing) or ?portfolio=ID (one
        of the person's own: any other id is a 404, as the portfolio's own pages are)."""
        raw_symbol = self.request.GET.get("symbol", "").strip()
        raw_portfolio = self.request.GET.get("portfolio")
        portfolio = None
        if raw_portfolio is not None:
            if not raw_portfolio.isdigit() or len(raw_portfolio) > 18:
                raise Http404("No such portfolio.")
            portfolio = portfolio_owned_get(user_id=user_id, portfolio_id=int(raw_portfolio))
            if portfolio is None:
                raise Http404("No such portfolio.")
        try:
            symbol = symbol_normalize(raw_symbol) if raw_symbol else None
        except InvalidSymbol:
            symbol = raw_symbol.upper()[:40]
        return symbol, portfolio


# --- set and edit ------------------------------------------------------------------------------


def _as_typed(value: Decimal) -> str:
    """200, 0.5, 0.00012345: no trailing zeros and never an exponent (2E+2)."""
    return f"{value.normalize():f}"


def _portfolio_choices(user_id: int) -> list[tuple[int, str]]:
    return [(row["id"], row["name"]) for row in portfolios_of_user(user_id=user_id)]


async def _symbol_look_up(symbol: str) -> None:
    """Have a worker look the symbol up through the price sources; AlertInvalid unless found."""
    checks = await asyncio.to_thread(
        assets_lookup_request, symbols=[symbol], timeout=settings.SYMBOL_LOOKUP_WAIT_SECONDS
    )
    check = checks[symbol]
    if check.status is LookupStatus.UNKNOWN:
        raise AlertInvalid(
            "symbol",
            f"{symbol} is not a symbol our price sources know ({check.reason}). Check the "
            "ticker, as Yahoo Finance writes it: AAPL, SAP.DE, BTC-USD.",
        )
    if check.status is LookupStatus.FAILED:
        raise AlertInvalid(
            "symbol",
            f"{symbol} could not be checked right now ({check.reason}). Nothing was saved: "
            "try again in a moment.",
        )


async def target_resolve_looking_up(
    *, user_id: int, symbol: str | None, portfolio_id: int | None
) -> AlertTarget:
    """The alert's target; a symbol no asset has yet is looked up first. Raises AlertInvalid."""
    resolve = partial(
        alert_target_resolve, owner_id=user_id, symbol=symbol, portfolio_id=portfolio_id
    )
    try:
        return await sync_to_async(resolve)()
    except AlertSymbolNotKnown as unknown:
        await _symbol_look_up(unknown.symbol)
    return await sync_to_async(resolve)()


class AlertFormPage(View):
    """The form of a new alert (prefilled from ?symbol= or ?portfolio=) or of an existing one
    (`alert_id` in the URL)."""

    template_name = "alerts/form.html"
    alert: Alert | None = None
    portfolios: list[tuple[int, str]]

    async def get(self, request: HttpRequest, alert_id: int | None = None) -> HttpResponseBase:
        if refused := await self._admit(request, alert_id):
            return refused
        initial = await sync_to_async(self._initial)(request)
        return await self._render(request, AlertForm(initial=initial, portfolios=self.portfolios))

    async def post(self, request: HttpRequest, alert_id: int | None = None) -> HttpResponseBase:
        if refused := await self._admit(request, alert_id):
            return refused
        form = AlertForm(request.POST, portfolios=self.portfolios)
        if form.is_valid():  # field checks only: no database
            data = form.cleaned_data
            try:
                target = await target_resolve_looking_up(
                    user_id=_user_id(request), symbol=data["symbol"], portfolio_id=data["portfolio"]
                )
                await sync_to_async(self._save)(request, target, data)
            except AlertInvalid as problem:
                form.add_error(
                    problem.field if problem.field in form.fields else None, problem.message
                )
            else:
                return redirect("alert-list")
        return await self._render(request, form)

    async def _admit(self, request: HttpRequest, alert_id: int | None) -> HttpResponseBase | None:
        """A redirect to sign in, a 404 for another's alert, or None (and the page's state)."""
        user = await request.auser()
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        request.user = user  # the lazy one would query the database on the event loop
        if alert_id is not None:
            self.alert = await sync_to_async(alert_or_404)(int(user.pk), alert_id)
        self.portfolios = await sync_to_async(_portfolio_choices)(int(user.pk))
        return None

    def _initial(self, request: HttpRequest) -> dict[str, Any]:
        alert = self.alert
        if alert is not None:
            return {
                "symbol": alert.asset.symbol if alert.asset else "",
                "portfolio": alert.portfolio_id,
                "condition": alert.condition,
                "threshold": _as_typed(alert.threshold),
                "rearm_margin_percent": _as_typed(alert.rearm_margin_percent),
                "note": alert.note,
            }
        symbol = request.GET.get("symbol", "").strip().upper()[:40]
        portfolio = request.GET.get("portfolio", "")
        owned = {pk for pk, _ in self.portfolios}
        if portfolio.isdigit() and int(portfolio) in owned:
            return {"portfolio": int(portfolio), "condition": AlertCondition.ABOVE}
        return {"symbol": symbol, "condition": AlertCondition.ABOVE}

    def _save(self, request: HttpRequest, target: AlertTarget, data: dict[str, Any]) -> None:
        rule = {
            "target": target,
            "condition": data["condition"],
            "threshold": data["threshold"],
            "rearm_margin_percent": data["rearm_margin_percent"],
            "note": data["note"],
        }
        if self.alert is None:
            alert = alert_create(owner_id=_user_id(request), **rule)
            messages.success(request, f"Alert set: {alert_describe(alert)}.")
        else:
            alert = alert_update(alert=self.alert, **rule)
            messages.success(request, f"Alert saved: {alert_describe(alert)}.")

    async def _render(self, request: HttpRequest, form: AlertForm) -> HttpResponse:
        def page() -> HttpResponse:
            return render(request, self.template_name, {
                "form": form, "alert": self.alert, "now": self._target_now(form),
                "known_symbols": sorted(assets_currencies()),
            })  # fmt: skip

        return await sync_to_async(page)()

    def _target_now(self, form: AlertForm) -> AlertRow | None:
        """What the target reads now, for a threshold set near it: the edited alert's, or the
        prefilled symbol's or portfolio's (an unsaved alert on it, read as any other)."""
        if self.alert is not None:
            return alert_rows([self.alert])[0]
        symbol, portfolio = form["symbol"].value(), form["portfolio"].value()
        probe = Alert(condition=AlertCondition.ABOVE, threshold=Decimal(1))
        if portfolio and str(portfolio).isdigit() and int(portfolio) in dict(self.portfolios):
            probe.portfolio = Portfolio.objects.get(pk=int(portfolio))
        elif symbol and (asset := Asset.objects.filter(symbol=str(symbol).upper()).first()):
            probe.asset = asset
        else:
            return None
        return alert_rows([probe])[0]


# --- pause, delete -----------------------------------------------------------------------------


def _back(request: HttpRequest) -> HttpResponseRedirect:
    """To the page the form was on (a same-site path), else the list; 303: the browser follows
    with a GET, so a reload does not post again."""
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("alert-list")
    return HttpResponseRedirect(target, status=303)


class AlertPauseView(LoginRequiredMixin, View):
    """POST: pause or resume (`paused` = true/false; without it, the other of the two)."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, alert_id: int) -> HttpResponse:
        alert = alert_or_404(_user_id(request), alert_id)
        wanted = request.POST.get("paused")
        paused = not alert.paused if wanted is None else wanted.lower() in TRUE_WORDS
        alert = alert_pause(alert=alert, paused=paused)
        if "application/json" in request.headers.get("Accept", ""):
            return JsonResponse({"id": alert.pk, "paused": alert.paused})
        messages.success(
            request, f"Alert {'paused' if paused else 'resumed'}: {alert_describe(alert)}."
        )
        return _back(request)


class AlertDeleteView(LoginRequiredMixin, TemplateView):
    """GET asks for confirmation; POST deletes (its past firings stay in the recent list)."""

    template_name = "alerts/confirm_delete.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        alert = alert_or_404(_user_id(self.request), kwargs["alert_id"])
        return super().get_context_data(alert=alert, description=alert_describe(alert), **kwargs)

    def post(self, request: HttpRequest, alert_id: int) -> HttpResponse:
        alert = alert_or_404(_user_id(request), alert_id)
        description = alert_describe(alert)
        alert_delete(alert=alert)
        messages.success(request, f"Alert deleted: {description}.")
        return redirect("alert-list")
