"""resource.Quantity as the apiserver decodes and prints it (k8s.io/apimachinery/pkg/api/resource), no I/O.

The apiserver stores every quantity in its canonical form, so a claim that asks for `1024Mi` reads back
as `1Gi` and `1500m` stays `1500m`: binary suffixes (Ki … Ei) when the value was written with one and is
a whole multiple of 1024, otherwise a decimal mantissa with an SI suffix (n, u, m, "", k … E) or, for
values written as `1e3`, an exponent. Values are rounded up to nano units as upstream does.
"""

from __future__ import annotations

import re
from decimal import ROUND_CEILING, Decimal, InvalidOperation

QUANTITY_PATTERN = "^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$"
# What the apiserver's decoder answers for a value that is not a quantity (a 400, not a 422).
QUANTITY_MESSAGE = f"quantities must match the regular expression '{QUANTITY_PATTERN}'"
_QUANTITY = re.compile(QUANTITY_PATTERN)
_BINARY = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_DECIMAL_SUFFIX = {exponent: suffix for suffix, exponent in _DECIMAL.items()}
_EXPONENT = re.compile(r"^[eE]([-+]?[0-9]+)$")
_NANO = Decimal("1e-9")


class QuantityError(ValueError):
    """Not a quantity; the message is the apiserver's."""


def parse(text: object) -> tuple[Decimal, str]:
    """The value and the format it was written in ("BinarySI", "DecimalSI" or "DecimalExponent")."""
    # JSON numbers are quantities too (`storage: 1073741824`); booleans are not.
    plain = isinstance(text, str | int | float) and not isinstance(text, bool)
    match = _QUANTITY.match(str(text).strip()) if plain else None
    if match is None:
        raise QuantityError(QUANTITY_MESSAGE)
    number, suffix = match.groups()
    try:
        mantissa = Decimal(number)
    except InvalidOperation:
        raise QuantityError(QUANTITY_MESSAGE) from None
    if suffix in _BINARY:
        return mantissa * Decimal(1024) ** _BINARY[suffix], "BinarySI"
    if suffix in _DECIMAL:
        return mantissa.scaleb(_DECIMAL[suffix]), "DecimalSI"
    exponent = _EXPONENT.match(suffix)
    if exponent is None:
        raise QuantityError("unable to parse quantity's suffix")
    return mantissa.scaleb(int(exponent.group(1))), "DecimalExponent"


def canonical(text: object) -> str:
    """The quantity as the apiserver writes it back (Quantity.String())."""
    value, form = parse(text)
    # Precision below nano units is rounded up, away from zero for negative values too.
    value = (abs(value) / _NANO).to_integral_value(ROUND_CEILING) * _NANO * (-1 if value < 0 else 1)
    if form == "BinarySI" and abs(value) >= 1024 and value == value.to_integral_value():
        whole = int(value)
        power = max(p for p in range(7) if whole % 1024**p == 0)
        suffix = next((s for s, p in _BINARY.items() if p == power), "")
        return f"{whole // 1024**power}{suffix}"
    if value == 0:
        return "0"
    # The largest exponent (a multiple of 3) that leaves a whole mantissa.
    exponent = next(e for e in range(18, -12, -3) if value.scaleb(-e) == value.scaleb(-e).to_integral_value())
    mantissa = int(value.scaleb(-exponent))
    if form == "DecimalExponent":
        return f"{mantissa}e{exponent}" if exponent else str(mantissa)
    return f"{mantissa}{_DECIMAL_SUFFIX[exponent]}"


def is_positive(text: object) -> bool:
    return parse(text)[0] > 0


def compare(left: object, right: object) -> int:
    """-1, 0 or 1 as Quantity.Cmp; an unparsable side counts as zero (validation reports it)."""
    a, b = _value_or_zero(left), _value_or_zero(right)
    return (a > b) - (a < b)


def _value_or_zero(text: object) -> Decimal:
    try:
        return parse(text)[0]
    except QuantityError:
        return Decimal(0)
