"""The forms of the portfolio pages: every rule checked here has its message beside its field.

A new symbol is not decided here: the form says whether the symbol needs a lookup
(`needs_lookup`), and the page asks a worker (views.PositionAddView) before anything is saved.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from apps.market.symbols import SYMBOL_MAX_LENGTH, InvalidSymbol, symbol_normalize
from apps.portfolios.currency_codes import ISO_4217
from apps.portfolios.models import Portfolio
from apps.portfolios.selectors import asset_listing, portfolio_holds, portfolio_name_taken

NAME_MAX_LENGTH = Portfolio._meta.get_field("name").max_length or 100
DECIMAL_INPUT = forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"})
# Tickers and currency codes: capitals, no spelling fixes, no remembered entries.
CODE_INPUT = {"autocapitalize": "characters", "autocomplete": "off", "spellcheck": "false"}


class PortfolioForm(forms.Form):
    """Create or rename a portfolio: its name (unique per owner) and its base currency."""

    name = forms.CharField(
        label="Name", max_length=NAME_MAX_LENGTH, widget=forms.TextInput(attrs={"autofocus": True})
    )
    base_currency = forms.CharField(
        label="Base currency",
        max_length=3,
        initial="USD",
        help_text="An ISO 4217 code: the portfolio's values are shown in it.",
        widget=forms.TextInput(attrs={"list": "currency-codes", "size": 5, **CODE_INPUT}),
    )

    def __init__(self, *args: Any, user_id: int, portfolio_id: int | None = None, **kwargs: Any):
        super().__init__(*args, **{"label_suffix": "", **kwargs})
        self.user_id, self.portfolio_id = user_id, portfolio_id

    def clean_name(self) -> str:
        name = str(self.cleaned_data["name"]).strip()
        if portfolio_name_taken(user_id=self.user_id, name=name, exclude_id=self.portfolio_id):
            raise ValidationError(
                "You already have a portfolio named “%(name)s”: choose another name.",
                code="name_taken",
                params={"name": name},
            )
        return name

    def clean_base_currency(self) -> str:
        code = str(self.cleaned_data["base_currency"]).strip().upper()
        if code not in ISO_4217:
            raise ValidationError(
                "“%(code)s” is not an ISO 4217 currency code: enter one such as USD, EUR or GBP.",
                code="invalid_currency",
                params={"code": code},
            )
        return code


class PositionFiguresForm(forms.Form):
    """Quantity held and what it cost: the fields a position's add and edit forms share."""

    # The model's precision: 28 digits with 10 decimals, 24 with 8. Text inputs: a number
    # input would let the browser refuse "1,5" or 1e-9 with its own message, in its language.
    quantity = forms.DecimalField(
        label="Quantity", max_digits=28, decimal_places=10, widget=DECIMAL_INPUT
    )
    cost_basis = forms.DecimalField(
        label="Cost basis",
        max_digits=24,
        decimal_places=8,
        help_text="The total paid for the quantity held, in the asset's currency.",
        widget=DECIMAL_INPUT,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **{"label_suffix": "", **kwargs})  # "Quantity", not "Quantity:"

    def clean_quantity(self) -> Decimal:
        quantity: Decimal = self.cleaned_data["quantity"]
        if quantity <= 0:
            raise ValidationError("Enter a quantity above 0.", code="quantity_not_positive")
        return quantity

    def clean_cost_basis(self) -> Decimal:
        cost: Decimal = self.cleaned_data["cost_basis"]
        if cost < 0:
            raise ValidationError(
                "Enter what the quantity cost in total: 0 or more.", code="cost_negative"
            )
        return cost


class PositionEditForm(PositionFiguresForm):
    """Change a position's quantity or cost; its cost is labelled with the asset's currency."""

    def __init__(self, *args: Any, currency: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["cost_basis"].label = f"Cost basis ({currency})"
        self.fields[
            "cost_basis"
        ].help_text = f"The total paid for the quantity held, in {currency}."


class PositionAddForm(PositionFiguresForm):
    """Add a position by symbol. A symbol with no asset yet sets `needs_lookup`: the page has
    a worker look it up through the price sources before anything is saved."""

    symbol = forms.CharField(
        label="Symbol",
        max_length=SYMBOL_MAX_LENGTH,
        help_text="A Yahoo-style ticker: AAPL, BRK-B, SAP.DE, VWRL.AS, BTC-USD, EURUSD=X.",
        widget=forms.TextInput(attrs={"list": "known-symbols", "autofocus": True, **CODE_INPUT}),
    )
    field_order = ["symbol", "quantity", "cost_basis"]

    def __init__(self, *args: Any, portfolio: Portfolio, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.portfolio = portfolio
        self.needs_lookup = False
        self.currency: str | None = None  # the asset's, once known

    def clean_symbol(self) -> str:
        raw = str(self.cleaned_data["symbol"])
        try:
            symbol = symbol_normalize(raw)
        except InvalidSymbol:
            raise ValidationError(
                "“%(raw)s” cannot be a ticker: enter one such as AAPL, BRK-B, SAP.DE or BTC-USD.",
                code="invalid_symbol",
                params={"raw": raw.strip()},
            ) from None
        if portfolio_holds(portfolio_id=self.portfolio.pk, symbol=symbol):
            raise ValidationError(
                "This portfolio already holds %(symbol)s: change that position instead.",
                code="already_held",
                params={"symbol": symbol},
            )
        listing = asset_listing(symbol)
        if listing is None:
            self.needs_lookup = True
        elif not listing[1]:
            raise ValidationError(
                "%(symbol)s is no longer priced here (its asset is inactive).",
                code="inactive_symbol",
                params={"symbol": symbol},
            )
        else:
            self.currency = listing[0]
        return symbol
