"""The unit cost of a serious-violence episode, uprated to a stated price base.

Shared by the impact evaluation (evaluation/) and the needs assessment (insights/),
which sit on one layer and may not import each other: this is the one copy.
Home Office, The economic and social costs of crime (2018): GBP 14,050 per
violence-with-injury offence at 2015/16 prices (evidence.md, "Cost and capacity").
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

HOME_OFFICE_VIOLENCE_WITH_INJURY_GBP = 14_050.0
HOME_OFFICE_PRICE_YEAR = "2015/16"


class UnitCost(BaseModel):
    """A cost per episode at its price year, and the index that uprates it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_gbp: float = Field(HOME_OFFICE_VIOLENCE_WITH_INJURY_GBP, gt=0, description="Cost per episode.")
    price_year: str = Field(HOME_OFFICE_PRICE_YEAR, description="Price year of base_gbp.")
    uprating_index: str = Field(
        "none (2015/16 prices)", min_length=1, description="Name of the price index used to uprate."
    )
    uprating_factor: float = Field(1.0, gt=0, description="Index at the target year / index at price_year.")
    target_year: str = Field(HOME_OFFICE_PRICE_YEAR, description="Price year after uprating.")

    @property
    def uprated_gbp(self) -> float:
        return self.base_gbp * self.uprating_factor

    def statement(self) -> str:
        return (
            f"GBP {self.base_gbp:,.0f} per episode at {self.price_year} prices (Home Office, economic and "
            f"social costs of crime), uprated by {self.uprating_index} (x{self.uprating_factor:g}) to "
            f"GBP {self.uprated_gbp:,.0f} at {self.target_year} prices"
        )
