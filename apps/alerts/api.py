"""The alert REST API: list (by symbol or portfolio), create, read, change (PUT/PATCH, pause
and resume through `paused`), delete, and the recent firings. Session or token auth.

Bad input is a 400 naming the field; another person's alert is a 404, the same as one that
does not exist. A symbol no asset has yet is not waited on here (a REST call answers at once):
a worker is asked to look it up and the 400 says to send the request again.
"""

from __future__ import annotations

import re
from typing import Any

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.alerts.models import Alert
from apps.alerts.selectors import (
    AlertRow,
    alert_events_recent,
    alert_owned_get,
    alert_rows,
    alerts_of_user,
)
from apps.alerts.serializers import (
    AlertEventSerializer,
    AlertEventsQuerySerializer,
    AlertFilterSerializer,
    AlertSerializer,
    AlertWriteSerializer,
)
from apps.alerts.services import (
    DEFAULT_MARGIN_PERCENT,
    AlertInvalid,
    AlertSymbolNotKnown,
    AlertTarget,
    alert_create,
    alert_delete,
    alert_target_resolve,
    alert_update,
)
from apps.market.requests import assets_lookup_queue
from apps.market.symbols import InvalidSymbol, symbol_normalize

# The services name the page's fields; the API's field for a portfolio is `portfolio_id`.
API_FIELDS = {"portfolio": "portfolio_id"}
ERRORS = {400: OpenApiTypes.OBJECT, 401: OpenApiTypes.OBJECT, 403: OpenApiTypes.OBJECT}
NOT_FOUND = {404: OpenApiTypes.OBJECT}
ALERT_ID = re.compile(r"[0-9]{1,18}")  # within the database's bigint
# The URL takes any segment (so that a bad one gets JSON); the schema says what is meant.
ALERT_ID_PARAMETER = OpenApiParameter(
    "alert_id", OpenApiTypes.INT, OpenApiParameter.PATH, description="One of your alerts."
)


def alert_data(row: AlertRow) -> dict[str, Any]:
    alert = row.alert
    return {
        "id": alert.pk, "target": row.target,
        "symbol": row.label if row.target == "symbol" else None,
        "portfolio_id": alert.portfolio_id,
        "name": row.name if row.target == "symbol" else row.label,
        "condition": alert.condition, "threshold": alert.threshold, "unit": row.unit,
        "currency": row.currency, "rearm_margin_percent": alert.rearm_margin_percent,
        "note": alert.note, "paused": alert.paused, "state": alert.state, "status": row.status,
        "waiting_reason": row.waiting, "description": row.description,
        "fired_at": alert.fired_at, "fired_value": alert.fired_value,
        "value": row.value, "change_percent": row.change_percent,
        "created_at": alert.created_at, "updated_at": alert.updated_at,
    }  # fmt: skip


def _answer(alert: Alert, code: int = status.HTTP_200_OK) -> Response:
    return Response(AlertSerializer(alert_data(alert_rows([alert])[0])).data, status=code)


def _invalid(problem: AlertInvalid) -> serializers.ValidationError:
    field = API_FIELDS.get(problem.field, problem.field)
    message = problem.message
    if isinstance(problem, AlertSymbolNotKnown):
        queued = assets_lookup_queue(symbols=[problem.symbol])
        message += (
            " It was sent to the price sources to look up: if one lists it, send this again "
            "in a few seconds."
            if queued
            else " It could not be looked up right now (the task queue is unavailable)."
        )
    return serializers.ValidationError({field: [message]})


def _target(request: Request, data: dict[str, Any], alert: Alert | None) -> AlertTarget:
    """The target sent, or (when neither `symbol` nor `portfolio_id` was sent) the alert's."""
    if alert is not None and "symbol" not in data and "portfolio_id" not in data:
        target = alert.asset or alert.portfolio
        if target is not None:
            return target
    try:
        return alert_target_resolve(
            owner_id=int(request.user.pk or 0),
            symbol=data.get("symbol"),
            portfolio_id=data.get("portfolio_id"),
        )
    except AlertInvalid as problem:
        raise _invalid(problem) from None


def _owned(request: Request, alert_id: str) -> Alert:
    """The caller's alert named by the URL's segment; a 404 for any other, or for no id."""
    alert = None
    if ALERT_ID.fullmatch(alert_id):
        alert = alert_owned_get(user_id=int(request.user.pk or 0), alert_id=int(alert_id))
    if alert is None:
        raise Http404("No such alert.")
    return alert


class AlertListApi(APIView):
    """Your alerts, newest first (GET, optionally of one symbol or portfolio); set one (POST)."""

    @extend_schema(
        parameters=[AlertFilterSerializer], responses={200: AlertSerializer(many=True), **ERRORS}
    )
    def get(self, request: Request) -> Response:
        query = AlertFilterSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        symbol = query.validated_data.get("symbol")
        if symbol is not None:
            try:
                symbol = symbol_normalize(symbol)
            except InvalidSymbol as error:
                raise serializers.ValidationError({"symbol": [str(error)]}) from None
        alerts = alerts_of_user(
            user_id=int(request.user.pk or 0),
            symbol=symbol,
            portfolio_id=query.validated_data.get("portfolio"),
        )
        rows = [alert_data(row) for row in alert_rows(alerts)]
        return Response(AlertSerializer(rows, many=True).data)

    @extend_schema(request=AlertWriteSerializer, responses={201: AlertSerializer, **ERRORS})
    def post(self, request: Request) -> Response:
        body = AlertWriteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            alert = alert_create(
                owner_id=int(request.user.pk or 0),
                target=_target(request, data, None),
                condition=data["condition"],
                threshold=data["threshold"],
                rearm_margin_percent=data.get("rearm_margin_percent", DEFAULT_MARGIN_PERCENT),
                note=data.get("note", ""),
                paused=data.get("paused", False),
            )
        except AlertInvalid as problem:
            raise _invalid(problem) from None
        return _answer(alert, status.HTTP_201_CREATED)


class AlertDetailApi(APIView):
    """One of your alerts: read, replace (PUT), change (PATCH; `paused` pauses or resumes;
    a changed rule re-arms it), delete."""

    @extend_schema(parameters=[ALERT_ID_PARAMETER],
                   responses={200: AlertSerializer, **ERRORS, **NOT_FOUND})  # fmt: skip
    def get(self, request: Request, alert_id: str) -> Response:
        return _answer(_owned(request, alert_id))

    @extend_schema(parameters=[ALERT_ID_PARAMETER], request=AlertWriteSerializer,
                   responses={200: AlertSerializer, **ERRORS, **NOT_FOUND})  # fmt: skip
    def put(self, request: Request, alert_id: str) -> Response:
        return self._change(request, alert_id, partial=False)

    @extend_schema(parameters=[ALERT_ID_PARAMETER], request=AlertWriteSerializer(partial=True),
                   responses={200: AlertSerializer, **ERRORS, **NOT_FOUND})  # fmt: skip
    def patch(self, request: Request, alert_id: str) -> Response:
        return self._change(request, alert_id, partial=True)

    @extend_schema(parameters=[ALERT_ID_PARAMETER],
                   responses={204: None, **ERRORS, **NOT_FOUND})  # fmt: skip
    def delete(self, request: Request, alert_id: str) -> Response:
        alert_delete(alert=_owned(request, alert_id))
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _change(self, request: Request, alert_id: str, *, partial: bool) -> Response:
        alert = _owned(request, alert_id)
        body = AlertWriteSerializer(alert, data=request.data, partial=partial)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        # PUT replaces: what is not sent takes its default; PATCH keeps what is not sent.
        keep = partial
        try:
            alert = alert_update(
                alert=alert,
                target=_target(request, data, alert if keep else None),
                condition=data.get("condition", alert.condition),
                threshold=data.get("threshold", alert.threshold),
                rearm_margin_percent=data.get(
                    "rearm_margin_percent",
                    alert.rearm_margin_percent if keep else DEFAULT_MARGIN_PERCENT,
                ),
                note=data.get("note", alert.note if keep else ""),
                paused=data.get("paused", None if keep else False),
            )
        except AlertInvalid as problem:
            raise _invalid(problem) from None
        return _answer(alert)


class AlertEventsApi(APIView):
    """Your alerts' latest firings, newest first (also of alerts deleted since)."""

    @extend_schema(
        parameters=[AlertEventsQuerySerializer],
        responses={200: AlertEventSerializer(many=True), **ERRORS},
    )
    def get(self, request: Request) -> Response:
        query = AlertEventsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        events = alert_events_recent(
            user_id=int(request.user.pk or 0), limit=query.validated_data["limit"]
        )
        return Response(AlertEventSerializer(events, many=True).data)
