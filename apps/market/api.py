"""REST endpoints of the price pipeline: force a refresh now."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from kombu.exceptions import OperationalError
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from apps.market.requests import prices_refresh_request
from apps.market.serializers import (
    ForcePriceUpdateAcceptedSerializer,
    ForcePriceUpdateSerializer,
)


class ForcePriceUpdateView(APIView):
    """POST {"symbols": [...]}: refresh those prices now; 202 with the Celery task id."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "force_price_update"

    @extend_schema(
        request=ForcePriceUpdateSerializer,
        responses={202: ForcePriceUpdateAcceptedSerializer, 400: OpenApiTypes.OBJECT,
                   429: OpenApiTypes.OBJECT, 503: OpenApiTypes.OBJECT},
    )  # fmt: skip
    def post(self, request: Request) -> Response:
        serializer = ForcePriceUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        symbols = serializer.validated_data["symbols"]
        try:
            task_id = prices_refresh_request(symbols=symbols)
        except OperationalError:
            return Response(
                {"detail": "The task queue is unavailable; try again shortly."},
                status=status.HTTP_503_SERVICE_UNAVAILABLE,
            )
        accepted = ForcePriceUpdateAcceptedSerializer(
            {"task_id": task_id, "symbols": symbols, "status": "queued"}
        )
        return Response(accepted.data, status=status.HTTP_202_ACCEPTED)
