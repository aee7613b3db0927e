"""Model fields of the market app."""

from __future__ import annotations

from typing import Any

from django.db import models

from apps.market.symbols import SYMBOL_MAX_LENGTH, symbol_validator

PRICE_MAX_DIGITS = 20
PRICE_DECIMAL_PLACES = 8


class SymbolField(models.CharField):
    """A ticker symbol, stored upper-case: `aapl` typed in the admin is saved as `AAPL`."""

    default_validators = [symbol_validator]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", SYMBOL_MAX_LENGTH)
        super().__init__(*args, **kwargs)

    def to_python(self, value: Any) -> Any:
        value = super().to_python(value)
        return value.strip().upper() if isinstance(value, str) else value

    def get_prep_value(self, value: Any) -> Any:
        return self.to_python(super().get_prep_value(value))

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        value = self.to_python(getattr(model_instance, self.attname))
        setattr(model_instance, self.attname, value)
        return value


class PriceField(models.DecimalField):
    """A price: 20 digits with 8 decimals, so BTC above 1,000,000 and sub-cent tokens both fit."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_digits", PRICE_MAX_DIGITS)
        kwargs.setdefault("decimal_places", PRICE_DECIMAL_PLACES)
        super().__init__(*args, **kwargs)
