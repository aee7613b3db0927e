"""REST endpoints of the charts: one asset's price series, and the sparklines of a page's rows.

Reading a daily range whose bars are missing asks a worker for them (never fetched here) and
answers `loading`; the asker's sockets hear `history_ready` when they are saved.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.market.models import Asset
from apps.market.requests import price_history_request
from apps.market.series import SeriesRange, asset_series_get, series_asked, sparklines_get
from apps.market.series_serializers import (
    AssetSeriesSerializer,
    SeriesQuerySerializer,
    SparklinesQuerySerializer,
    SparklinesSerializer,
)
from apps.market.symbols import SYMBOL_MAX_LENGTH, SYMBOL_PATTERN, InvalidSymbol, symbol_normalize

ERROR = OpenApiResponse(OpenApiTypes.OBJECT, description='{"detail": "why"}')
SYMBOL_PARAMETER = OpenApiParameter(
    "symbol", OpenApiTypes.STR, OpenApiParameter.PATH, pattern=SYMBOL_PATTERN.pattern,
    description="A ticker such as AAPL, BRK-B, ^GSPC or EURUSD=X (case does not matter).",
    examples=[OpenApiExample("a stock", value="AAPL")],
)  # fmt: skip


def _bad_request(query: serializers.Serializer[Any]) -> Response:
    """400 with one readable `detail` (and the per-field messages)."""
    problems = "; ".join(
        f"{name}: {' '.join(map(str, errors))}" for name, errors in query.errors.items()
    )
    return Response(
        {"detail": problems, "errors": query.errors}, status=status.HTTP_400_BAD_REQUEST
    )


class AssetSeriesView(APIView):
    """GET a chart's series of one asset: `range` 1d (intraday) or 1m, 6m, 1y (daily closes)."""

    @extend_schema(
        parameters=[SYMBOL_PARAMETER, SeriesQuerySerializer],
        responses={200: AssetSeriesSerializer, 400: ERROR, 401: ERROR, 403: ERROR, 404: ERROR},
    )
    def get(self, request: Request, symbol: str) -> Response:
        query = SeriesQuerySerializer(data=request.query_params)
        if not query.is_valid():
            return _bad_request(query)
        asset = _asset_or_none(symbol)
        if asset is None:
            return Response({"detail": f"No asset {symbol[:SYMBOL_MAX_LENGTH]!r}."},
                            status=status.HTTP_404_NOT_FOUND)  # fmt: skip
        series = asset_series_get(asset=asset, range_=SeriesRange(query.validated_data["range"]))
        if series.fetch_days is not None:
            asked = price_history_request(
                symbol=asset.symbol, days=series.fetch_days, user_id=request.user.pk
            )
            series = series_asked(series, asked=asked)
        return Response(AssetSeriesSerializer(series).data)


class SparklinesView(APIView):
    """GET the 1d series of up to 100 symbols in one request (a page's rows)."""

    @extend_schema(
        parameters=[SparklinesQuerySerializer],
        responses={200: SparklinesSerializer, 400: ERROR, 401: ERROR, 403: ERROR},
    )
    def get(self, request: Request) -> Response:
        query = SparklinesQuerySerializer(data=request.query_params)
        if not query.is_valid():
            return _bad_request(query)
        series = sparklines_get(symbols=query.validated_data["symbols"])
        return Response(SparklinesSerializer({"series": series}).data)


def _asset_or_none(raw: str) -> Asset | None:
    try:
        symbol = symbol_normalize(raw)
    except InvalidSymbol:
        return None
    return Asset.objects.filter(symbol=symbol).first()
