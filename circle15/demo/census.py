"""Census figures of Zhenhai District (镇海区, adcode 330211) used to scale the demo population.

Source: the 2020 (seventh) national population census, county-level tables (第七次全国人口普查
分县资料) for 镇海区 330211, as tabulated in GitHub ``leiii/census``,
``census_county_2020_v1.xlsx`` (MIT licence). Only these totals are real; how the residents
are spread over the district in the demo is synthetic.
"""

from __future__ import annotations

#: Where every figure in this module comes from.
SOURCE = (
    "2020 census (七普) county tables for 镇海区 330211, via GitHub leiii/census "
    "census_county_2020_v1.xlsx (MIT)"
)

#: Residents of Zhenhai District at the 2020 census.
TOTAL = 531_830

AGE_0 = 4_122
AGE_1_4 = 21_498
AGE_5_9 = 24_148
AGE_10_14 = 19_443

#: Five-year bands of 60 and over, as published; summed into ``AGE_60_PLUS``.
AGE_60_64 = 25_025
AGE_65_69 = 21_899
AGE_70_74 = 14_976
AGE_75_79 = 8_379
AGE_80_84 = 5_178
AGE_85_PLUS = 5_124
AGE_60_PLUS = AGE_60_64 + AGE_65_69 + AGE_70_74 + AGE_75_79 + AGE_80_84 + AGE_85_PLUS

#: Ages 15-59 are not tabulated as one band; they are the remainder of the total.
AGE_15_59 = TOTAL - (AGE_0 + AGE_1_4 + AGE_5_9 + AGE_10_14 + AGE_60_PLUS)

#: Population column -> census count, in age order; the values sum to ``TOTAL``.
BANDS: dict[str, int] = {
    "age_0": AGE_0,
    "age_1_4": AGE_1_4,
    "age_5_9": AGE_5_9,
    "age_10_14": AGE_10_14,
    "age_15_59": AGE_15_59,
    "age_60_plus": AGE_60_PLUS,
}

# Guard the published figures against a typo: the bands must rebuild the published total
# and the derived bands must match the values quoted in the data README.
assert AGE_60_PLUS == 80_581
assert AGE_15_59 == 382_038
assert sum(BANDS.values()) == TOTAL
