"""Watchlist changes from the dashboard: POST only, CSRF-checked, the signed-in user's own list.

Each answers JSON to a page that asks for it (`Accept: application/json`, the dashboard's
script) and otherwise sends the browser back to the dashboard (a plain form post), the problem
kept in the session for the page to show beside the field. A symbol that is not on the user's
own list is a 404 either way: another user's rows cannot be named, let alone changed.
"""

from __future__ import annotations

import asyncio
from typing import Any

from asgiref.sync import sync_to_async
from django.contrib.auth.views import redirect_to_login
from django.db import connections
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.views import View

from apps.portfolios.watchlist import (
    SymbolUncheckable,
    WatchlistItemMissing,
    WatchlistProblem,
    WatchRow,
    symbol_held,
    watchlist_symbol_add,
    watchlist_symbol_move,
    watchlist_symbol_remove,
)

PROBLEM_SESSION_KEY = "watchlist_problem"


def watchlist_problem_take(request: HttpRequest) -> dict[str, str] | None:
    """The problem a plain form post left for the dashboard to show, once."""
    problem = request.session.pop(PROBLEM_SESSION_KEY, None)
    return problem if isinstance(problem, dict) else None


class WatchlistAddView(View):
    """Async: a new symbol waits seconds on a worker's lookup, and under ASGI every sync view
    of the process shares one thread; the wait runs in a thread of its own instead."""

    http_method_names = ["post"]

    async def post(self, request: HttpRequest) -> HttpResponse:
        user = await request.auser()
        if not user.is_authenticated:
            return _signed_out(request)
        typed = str(request.POST.get("symbol", ""))
        try:
            row = await asyncio.to_thread(_symbol_add, int(user.pk), typed)
        except WatchlistProblem as problem:
            return await sync_to_async(_problem_answer)(request, problem)
        return _done(request, {"added": row.as_json()}, status=201)


def _symbol_add(user_id: int, typed: str) -> WatchRow:
    try:
        return watchlist_symbol_add(user_id=user_id, symbol=typed)
    finally:
        connections.close_all()  # this thread's own connections: nobody else closes them


class WatchlistRowView(View):
    """A change to one row, named by its symbol in the URL: `change` does it."""

    http_method_names = ["post"]

    def post(self, request: HttpRequest, symbol: str) -> HttpResponse:
        if not request.user.is_authenticated:
            return _signed_out(request)
        try:
            body = self.change(request, int(request.user.pk), symbol)
        except WatchlistItemMissing:
            if _wants_json(request):
                return _error(404, "not_on_watchlist", "That symbol is not on your watchlist.")
            raise Http404("That symbol is not on your watchlist.") from None
        except WatchlistProblem as problem:
            return _problem_answer(request, problem)
        return _done(request, body)

    def change(self, request: HttpRequest, user_id: int, symbol: str) -> dict[str, Any]:
        raise NotImplementedError


class WatchlistRemoveView(WatchlistRowView):
    def change(self, request: HttpRequest, user_id: int, symbol: str) -> dict[str, Any]:
        removed = watchlist_symbol_remove(user_id=user_id, symbol=symbol)
        return {"removed": removed, "held": symbol_held(user_id=user_id, symbol=removed)}


class WatchlistMoveView(WatchlistRowView):
    def change(self, request: HttpRequest, user_id: int, symbol: str) -> dict[str, Any]:
        direction = str(request.POST.get("direction", ""))
        return {"order": watchlist_symbol_move(user_id=user_id, symbol=symbol, direction=direction)}


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _signed_out(request: HttpRequest) -> HttpResponse:
    if _wants_json(request):
        return _error(401, "login_required", "Your session has ended: sign in again.")
    return redirect_to_login(request.get_full_path())


def _problem_answer(request: HttpRequest, problem: WatchlistProblem) -> HttpResponse:
    if _wants_json(request):
        status = 503 if isinstance(problem, SymbolUncheckable) else 400
        return _error(status, problem.code, problem.message, field="symbol")
    typed = str(request.POST.get("symbol", ""))[:40]
    request.session[PROBLEM_SESSION_KEY] = {"message": problem.message, "symbol": typed}
    return _back()


def _done(request: HttpRequest, body: dict[str, Any], status: int = 200) -> HttpResponse:
    return JsonResponse(body, status=status) if _wants_json(request) else _back()


def _back() -> HttpResponseRedirect:
    # 303: the browser follows with a GET, so a reload does not post the form again.
    return HttpResponseRedirect(reverse("realtime-dashboard") + "#watchlist", status=303)


def _error(status: int, code: str, message: str, **extra: str) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message, **extra}}, status=status)
