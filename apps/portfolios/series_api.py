"""GET /api/portfolios/<id>/series/?range=...: a portfolio's value over time, owner only."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.portfolios.selectors import portfolio_owned_get
from apps.portfolios.series_serializers import (
    PortfolioSeriesQuerySerializer,
    PortfolioSeriesSerializer,
)
from apps.portfolios.value_series import SeriesRange, portfolio_series_get


class PortfolioSeriesView(APIView):
    """The portfolio's value, cost basis and gain over a range, oldest point first.

    1d: the values pushed in the last 24 hours (one per tick at most); 1m, 6m, 1y, max: one
    point per recorded day. Another user's portfolio is the same 404 as one that does not
    exist, whatever the query, so ids cannot be probed.
    """

    @extend_schema(
        parameters=[PortfolioSeriesQuerySerializer],
        responses={200: PortfolioSeriesSerializer, 400: OpenApiTypes.OBJECT,
                   401: OpenApiTypes.OBJECT, 403: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT},
    )  # fmt: skip
    def get(self, request: Request, portfolio_id: int) -> Response:
        portfolio = portfolio_owned_get(user_id=int(request.user.pk), portfolio_id=portfolio_id)
        if portfolio is None:
            return Response({"detail": "No such portfolio."}, status=status.HTTP_404_NOT_FOUND)
        query = PortfolioSeriesQuerySerializer(data=request.query_params)
        if not query.is_valid():
            problems = "; ".join(
                f"{name}: {' '.join(map(str, errors))}" for name, errors in query.errors.items()
            )
            return Response({"detail": problems, "errors": query.errors},
                            status=status.HTTP_400_BAD_REQUEST)  # fmt: skip
        range_ = SeriesRange(query.validated_data["range"])
        series = portfolio_series_get(portfolio=portfolio, range_=range_)
        return Response(PortfolioSeriesSerializer(series.as_dict()).data)
