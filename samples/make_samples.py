"""Writes the bundled sample workspaces; every person, company, number and address is invented.

Run `python samples/make_samples.py`: it rewrites every sample file byte for byte the same
(fixed random seed, no clock), so the samples can be regenerated instead of hand-edited.
"""

from __future__ import annotations

import csv
import io
import json
import random
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

SEED = 20261125
AS_OF = date(2026, 11, 25)
HERE = Path(__file__).resolve().parent
CENT = Decimal("0.01")

SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
            "蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦方白邹孟熊秦邱江尹薛段雷侯")
GIVEN_NAMES = (
    "伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛",
    "明", "超", "秀兰", "霞", "平", "刚", "桂英", "建华", "晓燕", "志强", "海燕", "文博", "子涵",
    "雨桐", "浩然", "思远", "佳怡", "梓萱", "俊杰", "晓东", "建国", "玉梅", "春华", "国平", "丽娟",
    "红梅", "德明", "宏伟", "淑珍", "立新", "晓峰", "雪梅", "志刚", "美玲", "永康", "慧敏", "嘉豪",
)


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def cn_amount(value: Decimal, rng: random.Random) -> str:
    """An amount as a Chinese billing export writes it: two decimals, usually grouped."""
    return f"{value:,.2f}" if value >= 1000 and rng.random() < 0.8 else f"{value:.2f}"


def cn_date(value: date, rng: random.Random) -> str:
    """Dates as hand-kept ledgers mix them: 2026/3/5, 2026年3月5日, 2026-03-05."""
    style = rng.randrange(3)
    if style == 0:
        return f"{value.year}/{value.month}/{value.day}"
    if style == 1:
        return f"{value.year}年{value.month}月{value.day}日"
    return value.isoformat()


def unique_name(rng: random.Random, taken: set[str]) -> str:
    while True:
        name = rng.choice(SURNAMES) + rng.choice(GIVEN_NAMES)
        if name not in taken:
            taken.add(name)
            return name


def mobile(rng: random.Random) -> str:
    # The 0000 middle block marks the numbers as sample data.
    return f"1{rng.choice(('38', '39', '35', '86', '58', '77', '89'))}0000{rng.randrange(10000):04d}"


def write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def write_text(path: Path, text: str) -> None:
    write_bytes(path, text.encode("utf-8"))


def write_csv(path: Path, headers: list[str], rows: list[list[str]], encoding: str, crlf: bool) -> None:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n" if crlf else "\n")
    writer.writerow(headers)
    writer.writerows(rows)
    write_bytes(path, buffer.getvalue().encode(encoding))


def month(index: int) -> tuple[int, int]:
    """Month index 0 is 2025-11, the first billing month of the Chinese samples."""
    total = 2025 * 12 + 10 + index
    return total // 12, total % 12 + 1


def on(index: int, day: int) -> date:
    year, month_number = month(index)
    return date(year, month_number, day)


# ---------------------------------------------------------------- property-zh

PROPERTY_TOML = """\
# 锦绣华庭 sample workspace: an invented residential community; nothing here is real data.
# Demo as-of date: 2026-11-25 (letterforge ... --as-of 2026-11-25).
locale = "zh-CN"
currency = "CNY"

[creditor]
name = "杭州锦绣物业服务有限公司"
type = "property"
address = "浙江省杭州市拱墅区锦绣路188号锦绣华庭物业服务中心"
phone = "0571-8600 1234"
office_hours = "周一至周日 8:30-17:30"
email = "service@jinxiu-wuye.example.cn"

[payment.bank_transfer]
payee = "杭州锦绣物业服务有限公司"
bank = "中国工商银行杭州锦绣支行"
account_number = "1202 0211 0990 0123 456"

[payment.counter]
address = "锦绣华庭3栋一层物业服务中心（浙江省杭州市拱墅区锦绣路188号）"
hours = "周一至周日 8:30-17:30"

[payment.online]
url = "https://pay.example.cn/jinxiu?account={account_id}"
label = "锦绣华庭线上缴费"

[late_fee]
# 万分之三 per day on the overdue principal, from the day after the due date, at most the principal.
rule = "daily_rate"
rate = "0.0003"
grace_days = 0
cap = "principal"
rounding = "half-up"

[law_firm]
name = "浙江衡嘉律师事务所"
address = "浙江省杭州市上城区钱江路1288号衡嘉大厦16层"
phone = "0571-8700 5678"
lawyer = "沈明远"
certificate_number = "13301201510987654"

[data]
accounts = { file = "住户.csv", encoding = "gbk" }
arrears = { file = "欠费明细.csv", encoding = "gbk" }
"""
PROPERTY_HISTORY_TOML = 'history = { file = "已发函件.csv", encoding = "gbk" }\n'
PROPERTY_LETTERS_TOML = """
[letters]
demand_reply_days = 7
lawyer_reply_days = 14
reminder_reply_days = 7
hardship_extra_days = 7
signatory = "锦绣华庭物业服务中心"
return_slip = true

[offers]
waive_late_fee = true
instalments = true
instalment_months = 6

[policy]
# The series continue after the numbers of the letters sent before letterforge (已发函件.csv).
reference_patterns = { reminder = "锦物通字〔{year}〕第{number:04d}号", demand = "锦物催字〔{year}〕第{number:04d}号", lawyer = "浙衡律函字〔{year}〕第{number:04d}号" }
"""

ADDRESS_PREFIX = "浙江省杭州市拱墅区锦绣路188号锦绣华庭"
UNIT_PRICE = Decimal("2.80")
# 公共能耗分摊 per square metre, month by month (2025-11 .. 2026-10): lifts, corridor lights, pumps.
ENERGY_RATES = tuple(Decimal(r) for r in (
    "0.18", "0.21", "0.24", "0.22", "0.19", "0.17", "0.16", "0.20", "0.26", "0.27", "0.21", "0.18"))
PARKING_YEAR = Decimal("1440.00")  # 120 元/月, billed once a year in January
# Room areas by building and room number (same layout on every floor).
LAYOUTS = {
    1: {1: Decimal("89.37"), 2: Decimal("126.54")},
    2: {1: Decimal("143.26"), 2: Decimal("97.81")},
    3: {1: Decimal("62.45"), 2: Decimal("118.73")},
    5: {1: Decimal("176.92"), 2: Decimal("108.16")},
    6: {1: Decimal("92.18"), 2: Decimal("135.60")},
}


@dataclass
class Household:
    building: int
    floor: int
    room: int
    profile: str
    name: str = ""
    category: str = ""
    phone: str = ""
    unpaid: list[int] = field(default_factory=list)
    style: str = "plain"  # plain | partial | dispute (pays the energy share, withholds the fee)
    parking: bool = False
    letters: list[tuple[str, date]] = field(default_factory=list)
    hold: tuple[str, date] | None = None
    note: str = ""
    items: tuple[str, ...] = ("物业服务费", "公共能耗分摊")  # the monthly items billed

    @property
    def account_id(self) -> str:
        return f"JX-{self.building}-{self.floor:02d}{self.room:02d}"

    @property
    def unit(self) -> str:
        return f"{self.floor:02d}{self.room:02d}"

    @property
    def area(self) -> Decimal:
        return LAYOUTS[self.building][self.room]


# Each building's households by profile. "cand-*" are the lawyer's-letter candidates on the
# as-of date (2+ demand letters, 3+ months unpaid, not on hold, no lawyer's letter yet).
PROFILES = {
    1: ["cand-wilful", "one-demand", "lawyered", "forgot", "forgot", "unknown", "unknown",
        "hardship-short", "paid", "paid", "paid-reminded", "paid"],
    2: ["cand-wilful", "cand-wilful-partial", "cand-wilful", "cand-unknown", "two-demands-recent",
        "forgot", "unknown", "hardship-new", "paid", "paid", "paid", "paid-reminded"],
    3: ["cand-hardship", "hold-instalments", "hold-complaint", "dispute", "forgot", "forgot",
        "unknown", "paid", "paid", "paid", "paid", "paid"],
    5: ["cand-dispute-hold-expired", "cand-three-months", "hardship-one-demand", "forgot", "forgot",
        "unknown", "paid", "paid", "paid", "paid", "paid", "paid"],
}
CATEGORIES = {
    "wilful": "恶意拖欠", "hardship": "经济困难", "dispute": "整改", "forgot": "遗忘",
}
# Names with less common characters, to exercise the fonts.
RARE_NAMES = {"cand-wilful-partial": "王喆", "forgot": "陈堃", "paid-reminded": "赵淼"}


def shape_household(h: Household, rng: random.Random) -> None:
    """Fill in the household's arrears, letters and hold from its profile."""
    p = h.profile
    if p == "cand-wilful":
        start = rng.randrange(0, 5)
        h.category, h.unpaid = CATEGORIES["wilful"], list(range(start, 12))
        h.letters = [("催缴通知", on(start + 1, 12)), ("催缴通知", on(start + 2, 12)),
                     ("催费函", on(start + 3, 15)), ("催费函", on(start + 5, 18))]
        if start <= 1:
            h.letters.append(("催费函", on(start + 8, 16)))
    elif p == "cand-wilful-partial":
        h.category, h.unpaid, h.style = CATEGORIES["wilful"], list(range(3, 12)), "partial"
        h.letters = [("催缴通知", on(4, 12)), ("催费函", on(6, 15)), ("催费函", on(8, 17)),
                     ("催费函", on(10, 20))]
    elif p == "cand-unknown":
        h.unpaid = list(range(6, 12))
        h.letters = [("催缴通知", on(6, 12)), ("催缴通知", on(7, 13)), ("催费函", on(8, 15)),
                     ("催费函", on(10, 16))]
    elif p == "cand-hardship":
        h.category, h.unpaid, h.style = CATEGORIES["hardship"], list(range(4, 12)), "partial"
        h.letters = [("催缴通知", on(5, 12)), ("催缴通知", on(6, 12)), ("催费函", on(7, 15)),
                     ("催费函", on(9, 17))]
    elif p == "cand-dispute-hold-expired":
        h.category, h.unpaid, h.style = CATEGORIES["dispute"], list(range(5, 12)), "dispute"
        h.letters = [("催缴通知", on(5, 12)), ("催费函", on(7, 18)), ("催费函", on(11, 15))]
        h.hold = ("投诉处理中（渗水维修）", date(2026, 9, 30))
    elif p == "cand-three-months":
        h.category, h.unpaid = CATEGORIES["wilful"], [9, 10, 11]
        h.letters = [("催缴通知", on(9, 12)), ("催缴通知", on(10, 10)), ("催费函", on(10, 25)),
                     ("催费函", on(11, 28))]
    elif p == "one-demand":
        h.unpaid = list(range(7, 12))
        h.letters = [("催缴通知", on(8, 12)), ("催缴通知", on(9, 12)), ("催费函", on(10, 15))]
    elif p == "lawyered":
        h.category, h.unpaid = CATEGORIES["wilful"], list(range(1, 12))
        h.letters = [("催缴通知", on(2, 12)), ("催缴通知", on(3, 12)), ("催费函", on(4, 16)),
                     ("催费函", on(7, 15)), ("律师函", on(11, 20))]
    elif p == "two-demands-recent":
        # Paid up the old arrears after two demands in spring; behind again since September.
        h.category, h.unpaid = CATEGORIES["forgot"], [10, 11]
        h.letters = [("催缴通知", on(2, 12)), ("催费函", on(3, 16)), ("催费函", on(5, 15)),
                     ("催缴通知", on(11, 12))]
    elif p == "hold-instalments":
        h.category, h.unpaid, h.style = CATEGORIES["hardship"], list(range(4, 12)), "partial"
        h.letters = [("催缴通知", on(5, 12)), ("催费函", on(6, 15)), ("催费函", on(8, 15))]
        h.hold = ("已签分期协议", date(2027, 2, 28))
    elif p == "hold-complaint":
        h.category, h.unpaid, h.style = CATEGORIES["dispute"], [9, 10, 11], "dispute"
        h.letters = [("催缴通知", on(10, 12)), ("催费函", on(11, 9))]
        h.hold = ("投诉处理中", date(2026, 12, 15))
    elif p == "hardship-short":
        h.category, h.unpaid, h.style = CATEGORIES["hardship"], [9, 10, 11], "partial"
        h.letters = [("催缴通知", on(10, 12)), ("催缴通知", on(11, 12))]
    elif p == "hardship-new":
        h.category, h.unpaid, h.style = CATEGORIES["hardship"], [10, 11], "partial"
    elif p == "hardship-one-demand":
        h.category, h.unpaid, h.style = CATEGORIES["hardship"], [8, 9, 10, 11], "partial"
        h.letters = [("催缴通知", on(9, 13)), ("催费函", on(10, 15))]
    elif p == "dispute":
        h.category, h.unpaid, h.style = CATEGORIES["dispute"], [10, 11], "dispute"
        h.letters = [("催缴通知", on(11, 12))]
    elif p == "forgot":
        h.category = CATEGORIES["forgot"]
        h.unpaid = [11] if rng.random() < 0.5 else [10, 11]
        if rng.random() < 0.5:
            h.letters = [("催缴通知", on(11, 12))]
    elif p == "unknown":
        h.unpaid = list(range(12 - rng.randint(1, 3), 12))
        if len(h.unpaid) > 1 and rng.random() < 0.6:
            h.letters = [("催缴通知", on(h.unpaid[0] + 1, 12))]
    elif p == "paid-reminded":
        h.letters = [("催缴通知", on(rng.choice((3, 6)), 12))]
    elif p != "paid":
        raise ValueError(p)


def property_households(rng: random.Random) -> list[Household]:
    households: list[Household] = []
    taken = set(RARE_NAMES.values())
    rare = dict(RARE_NAMES)
    for building, profiles in PROFILES.items():
        slots = sorted(rng.sample([(f, r) for f in range(2, 19) for r in (1, 2)], len(profiles)))
        shuffled = profiles[:]
        rng.shuffle(shuffled)
        for (floor, room), profile in zip(slots, shuffled):
            h = Household(building, floor, room, profile)
            h.name = rare.pop(profile) if profile in rare else unique_name(rng, taken)
            h.phone = mobile(rng)
            h.parking = rng.random() < 0.4
            shape_household(h, rng)
            households.append(h)
    return sorted(households, key=lambda h: h.account_id)


def property_arrears(h: Household, rng: random.Random) -> list[tuple[str, str, Decimal, Decimal, date]]:
    """(period, fee item, due, paid, due date) for every item not fully paid."""
    items = []
    for index in h.unpaid:
        year, month_number = month(index)
        period = f"{year}-{month_number:02d}"
        due_date = date(year, month_number, 5)
        fee = cents(h.area * UNIT_PRICE)
        paid = Decimal("0.00")
        if h.style == "partial" and rng.random() < 0.6:
            paid = Decimal(rng.choice([n for n in (50, 100, 150, 200) if n < fee]))
        if "物业服务费" in h.items:
            items.append((period, "物业服务费", fee, paid, due_date))
        if h.style != "dispute" and "公共能耗分摊" in h.items:
            items.append((period, "公共能耗分摊", cents(h.area * ENERGY_RATES[index % 12]), Decimal("0.00"), due_date))
        if index % 12 == 2 and h.parking:
            paid_parking = Decimal("720.00") if h.style == "partial" else Decimal("0.00")
            items.append((period, "车位管理费", PARKING_YEAR, paid_parking, due_date))
    return items


def letter_references(households: list[Household],
                      counters: dict[tuple[str, int], int] | None = None) -> dict[tuple[str, str, date], str]:
    """Numbers letters as the office does: per kind and year, in the order they were sent
    (`counters`: the last numbers already given, to continue a series)."""
    prefixes = {"催缴通知": "锦物通字", "催费函": "锦物催字", "律师函": "浙衡律函字"}
    sent = sorted((when, h.account_id, kind) for h in households for kind, when in h.letters)
    counters = {} if counters is None else counters
    references = {}
    for when, account_id, kind in sent:
        key = (kind, when.year)
        counters[key] = counters.get(key, 0) + 1
        references[(account_id, kind, when)] = f"{prefixes[kind]}〔{when.year}〕第{counters[key]:04d}号"
    return references


EDGE_DESCRIPTIONS = {
    "edge-one-item": "one item only (物业服务费 2026-09), no earlier letters",
    "edge-tiny": "a tiny debt (公共能耗分摊 for two months, about ¥40): no instalment plan is offered",
    "edge-dispute-note": "a dispute with a note (备注) on where the complaint stands; two demand letters sent",
    "edge-dispute-plain": "a dispute without a note; one reminder sent",
    "edge-old-long": ("unpaid since 2023-03 (a very long arrears table, parking fees included) with one reminder in "
                      "April 2023 and nothing since: the oldest items are past the three-year limitation period"),
}


def edge_households() -> list[Household]:
    """Accounts at the edges of what the letters must say truthfully (building 6, fixed data,
    its own random stream so that the other households stay as they were)."""
    one_item = Household(6, 2, 1, "edge-one-item", "欧阳建平", "", "13800000601", [10], items=("物业服务费",))
    tiny = Household(6, 3, 2, "edge-tiny", "司马静", CATEGORIES["forgot"], "13800000602", [10, 11],
                     items=("公共能耗分摊",))
    dispute_note = Household(6, 4, 1, "edge-dispute-note", "诸葛文", CATEGORIES["dispute"], "13800000603",
                             [8, 9, 10, 11], "dispute",
                             letters=[("催缴通知", on(9, 12)), ("催费函", on(10, 15)), ("催费函", on(11, 20))],
                             note="您反映的6栋4楼走廊渗水问题，已于2026年11月10日完成维修，正在回访确认。")
    dispute_plain = Household(6, 5, 2, "edge-dispute-plain", "东方明", CATEGORIES["dispute"], "13800000604",
                              [10, 11], "dispute", letters=[("催缴通知", on(11, 12))])
    # Unpaid since 2023-03 (44 months, 91 items): one reminder in April 2023 and nothing since, so
    # the oldest items are past the three-year limitation period on the as-of date.
    old_long = Household(6, 6, 1, "edge-old-long", "慕容海", CATEGORIES["wilful"], "13800000605",
                         list(range(-32, 12)), parking=True, letters=[("催缴通知", date(2023, 4, 12))])
    return [one_item, tiny, dispute_note, dispute_plain, old_long]


def write_property_zh() -> dict[str, object]:
    rng = random.Random(SEED)
    edge_rng = random.Random(SEED + 6)
    households = property_households(rng) + edge_households()
    pick = lambda h: edge_rng if h.profile.startswith("edge-") else rng  # noqa: E731
    root = HERE / "property-zh"
    write_text(root / "letterforge.toml", PROPERTY_TOML + PROPERTY_HISTORY_TOML + PROPERTY_LETTERS_TOML)

    account_rows = []
    for h in households:
        hold_reason, hold_until = (h.hold[0], cn_date(h.hold[1], pick(h))) if h.hold else ("", "")
        account_rows.append([h.account_id, h.name, f"{h.building}栋", h.unit,
                             f"{ADDRESS_PREFIX}{h.building}栋{h.unit}室", h.category, h.phone,
                             hold_reason, hold_until, h.note])
    write_csv(root / "住户.csv", ["户号", "姓名", "楼栋", "房号", "地址", "欠费类型", "联系电话", "暂缓原因", "暂缓至",
                                 "备注"], account_rows, "gbk", crlf=True)

    arrears_rows = []
    for h in households:
        for period, item, due, paid, due_date in property_arrears(h, pick(h)):
            paid_text = "" if paid == 0 and pick(h).random() < 0.3 else cn_amount(paid, pick(h))
            arrears_rows.append([h.account_id, period, item, cn_amount(due, pick(h)), paid_text,
                                 cn_date(due_date, pick(h))])
    write_csv(root / "欠费明细.csv", ["户号", "账期", "收费项目", "应收金额", "已缴金额", "应缴日期"],
              arrears_rows, "gbk", crlf=True)

    # The edge accounts' letters are numbered after the others, so that the series of the
    # original households keep their numbers.
    counters: dict[tuple[str, int], int] = {}
    references = letter_references([h for h in households if not h.profile.startswith("edge-")], counters)
    references.update(letter_references([h for h in households if h.profile.startswith("edge-")], counters))
    history_rows = []
    for when, account_id, kind in sorted((w, h.account_id, k) for h in households for k, w in h.letters):
        reference = references[(account_id, kind, when)]
        if kind == "催缴通知" and account_id.startswith("JX-6-"):
            pass  # the edge accounts' letters keep their numbers
        elif kind == "催缴通知" and rng.random() < 0.3:
            reference = ""  # reminders handed out at the front desk were not always numbered
        history_rows.append([account_id, kind, when.isoformat(), reference])
    write_csv(root / "已发函件.csv", ["户号", "函件类型", "发函日期", "文号"], history_rows, "gbk", crlf=True)

    summary = {
        "candidates": [h.account_id for h in households if h.profile.startswith("cand-")],
        "holds": [(h.account_id, h.hold[0], h.hold[1].isoformat()) for h in households if h.hold],
        "lawyered": [h.account_id for h in households if h.profile == "lawyered"],
        "two_demands_short": [h.account_id for h in households if h.profile == "two-demands-recent"],
        "one_demand_long": [h.account_id for h in households if h.profile == "one-demand"],
        "paid_up": [h.account_id for h in households if not h.unpaid],
        "edges": [(h.account_id, h.profile) for h in households if h.profile.startswith("edge-")],
    }
    write_text(root / "README.md", property_readme(households, summary))
    return summary


def property_readme(households: list[Household], s: dict) -> str:
    rare = ", ".join(f"{h.account_id} {h.name}" for h in households if h.name in RARE_NAMES.values())
    holds = "\n".join(f"  - {a}: {reason}, 暂缓至 {until}" + (" (expired on the as-of date)" if until < AS_OF.isoformat() else "")
                      for a, reason, until in s["holds"])
    candidates = ", ".join(s["candidates"])
    edges = "\n".join(f"  - {account_id}: {EDGE_DESCRIPTIONS[profile]}" for account_id, profile in s["edges"])
    return f"""\
# 锦绣华庭: sample property-fee workspace (zh-CN)

An invented residential community managed by the invented 杭州锦绣物业服务有限公司. Every name,
phone number, bank account and address is made up; mobile numbers have the middle block 0000.
Generated by `samples/make_samples.py`; edit that script, not the files.

**As-of date for demos: 2026-11-25.**

| file | what | encoding |
|---|---|---|
| 住户.csv | {len(households)} households in 1栋, 2栋, 3栋, 5栋 and 6栋 (the edge accounts) (户号 JX-building-floor/room) | GBK |
| 欠费明细.csv | unpaid and part-paid items, 2025-11 .. 2026-10 (one edge account from 2023-03); fully paid items are left out | GBK |
| 已发函件.csv | reminders (催缴通知), demand letters (催费函) and one lawyer's letter already sent | GBK |

Fees: 物业服务费 = area × 2.80 元/㎡ per month, 公共能耗分摊 monthly by area, 车位管理费
1,440.00 billed once a year with the 2026-01 bill. Everything is due on the 5th of its month.
Due dates are written in mixed formats (2026/3/5, 2026年3月5日, 2026-03-05) and some amounts
with thousands separators, as real exports do. {len(s["paid_up"])} households owe nothing.

Late fee: 万分之三 per day from the day after the due date, capped at the principal.

What the data is built to show on 2026-11-25:
- Lawyer's-letter candidates (3+ months unpaid, 2+ 催费函 already sent, not on hold, no
  律师函 yet): {candidates}. Four of them live in 2栋, so a wave plan must spread them.
- {", ".join(s["lawyered"])} already received a 律师函 on 2026-10-20; do not send another.
- {", ".join(s["two_demands_short"])} had two 催费函 in spring but only 2 months are unpaid now: not a candidate.
- {", ".join(s["one_demand_long"])} has 5 months unpaid and one 催费函: due a second demand letter, not a lawyer's letter.
- Holds:
{holds}
- Names with rarer characters for font checks: {rare}.
- Edge accounts (6栋), which every letter must describe truthfully:
{edges}

Check the data: `letterforge -w samples/property-zh validate` should report no problems.
"""


# ---------------------------------------------------------------- water-zh

WATER_TOML = """\
# 云湖市自来水 sample workspace: an invented water utility; nothing here is real data.
# Demo as-of date: 2026-11-25.
locale = "zh-CN"
currency = "CNY"

[creditor]
name = "云湖市自来水有限公司"
type = "water"
address = "云湖市滨河区水厂路18号"
phone = "0000-96100（示例号码）"
office_hours = "周一至周五 8:30-17:00，周六 9:00-12:00"

[payment.bank_transfer]
payee = "云湖市自来水有限公司"
bank = "中国建设银行云湖滨河支行"
account_number = "3305 0163 7200 0000 1234"

[payment.counter]
address = "云湖市自来水有限公司营业大厅（云湖市滨河区水厂路18号）"
hours = "周一至周五 8:30-17:00，周六 9:00-12:00"

[payment.online]
url = "https://pay.example.cn/yunhu-water?account={account_id}"
label = "云湖自来水网上营业厅"

[late_fee]
# 千分之一 per day on the overdue bill, as the supply contract sets, at most the bill itself.
rule = "daily_rate"
rate = "0.001"
grace_days = 0
cap = "principal"
rounding = "half-up"

[law_firm]
name = "云湖清正律师事务所"
address = "云湖市中山区人民路66号清正大厦8层"
phone = "0000-8123 4567（示例号码）"
lawyer = "许文静"
certificate_number = "13399201810246802"

[data.accounts]
file = "水费台账.xlsx"
sheet = "用户"

[data.arrears]
file = "水费台账.xlsx"
sheet = "账单"

[data.history]
file = "已发函件.csv"
encoding = "utf-8"

[letters]
signatory = "营业收费中心"
return_slip = true
"""

ZONES = (("城东片区", 1, "云湖市城东区"), ("城西片区", 2, "云湖市城西区"), ("滨河片区", 3, "云湖市滨河区"))
STREETS = {1: ("东湖路", "望江街", "朝阳路"), 2: ("西山路", "桂花巷", "青石街"), 3: ("临河路", "柳岸街", "滨江大道")}
# (label, due date): billed after each quarter, due on the 25th of the month after it.
QUARTERS = (("2025年第3季度", date(2025, 10, 25)), ("2025年第4季度", date(2026, 1, 25)),
            ("2026年第1季度", date(2026, 4, 25)), ("2026年第2季度", date(2026, 7, 25)),
            ("2026年第3季度", date(2026, 10, 25)))
TARIFFS = {  # (水费 per m³, 污水处理费 per m³)
    "居民": (Decimal("2.90"), Decimal("0.95")),
    "非居民": (Decimal("4.30"), Decimal("1.40")),
}
SHOPS = ("云湖市东门老刘面馆", "云湖市西山洗车行", "云湖市柳岸茶餐厅", "云湖市桂花巷干洗店")
# Per zone: profiles of its ten users. Candidates: 2 demands sent, 3+ quarters unpaid.
WATER_PROFILES = {
    1: ["cand-wilful", "shop-wilful", "shop-paid", "one-quarter", "one-quarter", "two-quarters",
        "paid", "paid", "paid", "dispute"],
    2: ["cand-wilful", "shop-one", "one-quarter", "one-quarter", "hardship", "two-quarters",
        "paid", "paid", "paid", "unknown"],
    3: ["wilful-one-demand", "shop-one", "one-quarter", "hardship", "two-quarters", "paid",
        "paid", "paid", "paid", "unknown"],
}


def quarter(year: int, number: int) -> tuple[str, date]:
    """A quarter's bill: its label and due date (the 25th of the month after the quarter)."""
    month_after = number * 3 + 1
    return f"{year}年第{number}季度", date(year + month_after // 13, (month_after - 1) % 12 + 1, 25)


WATER_EDGE_DESCRIPTIONS = (
    ("04000101", "one item only (污水处理费 of 2026年第3季度), no earlier letters"),
    ("04000102", "a tiny debt (3 m³, under ¥12): no instalment plan is offered"),
    ("04000103", "billed every two months (2026年5-6月 .. 2026年9-10月), one reminder and one 催费函"),
    ("04000104", "a dispute over a meter reading, with a note (备注) on where it stands"),
    ("04000105", "unpaid since 2023年第2季度 (a long arrears table) with one reminder in August 2023 and "
                 "nothing since: the oldest bills are past the three-year limitation period"),
)


def water_edge_accounts() -> tuple[list[list[object]], list[list[object]], list[tuple[str, str, date]]]:
    """Users at the edges of what the letters must say truthfully, in 城南片区 (whose users the
    utility took over from a former operator, still on two-monthly bills); fixed data."""
    zone, district = "城南片区", "云湖市城南区"
    water_rate, sewage_rate = TARIFFS["居民"]
    users: list[list[object]] = []
    bills: list[list[object]] = []
    letters: list[tuple[str, str, date]] = []

    def bill(account_id: str, label: str, due_date: date, usage: int, items: tuple[str, ...] = ("水费", "污水处理费")) -> None:
        if "水费" in items:
            bills.append([account_id, label, "水费", cents(usage * water_rate), Decimal(0), due_date])
        if "污水处理费" in items:
            bills.append([account_id, label, "污水处理费", cents(usage * sewage_rate), Decimal(0), due_date])

    users.append(["04000101", "慕容芳", zone, f"{district}南湖路12号3幢1单元501室", "", "13800000401", None])
    bill("04000101", *quarter(2026, 3), 41, ("污水处理费",))
    users.append(["04000102", "上官敏", zone, f"{district}南湖路18号1幢2单元302室", "遗忘", "13800000402", None])
    bill("04000102", *quarter(2026, 3), 3)
    users.append(["04000103", "欧阳红梅", zone, f"{district}文昌街7号2幢3单元1102室", "恶意拖欠", "13800000403", None])
    for first, usage in ((5, 22), (7, 27), (9, 24)):
        bill("04000103", f"2026年{first}-{first + 1}月", date(2026, first + 2, 15), usage)
    letters += [("04000103", "催缴通知", date(2026, 8, 10)), ("04000103", "催费函", date(2026, 10, 12))]
    users.append(["04000104", "皇甫强", zone, f"{district}文昌街21号5幢1单元203室", "争议", "13800000404",
                  "您对2026年第2季度水表读数提出的异议，本公司已于2026年11月5日上门复核，复核结果将另行书面通知。"])
    bill("04000104", *quarter(2026, 2), 58)
    bill("04000104", *quarter(2026, 3), 36)
    letters.append(("04000104", "催缴通知", date(2026, 8, 10)))
    users.append(["04000105", "令狐伟", zone, f"{district}南湖路40号6幢2单元801室", "恶意拖欠", "13800000405", None])
    for year, number in [(2023, 2), (2023, 3), (2023, 4)] + [(y, q) for y in (2024, 2025) for q in (1, 2, 3, 4)] \
            + [(2026, 1), (2026, 2), (2026, 3)]:
        bill("04000105", *quarter(year, number), 30 + (year * 4 + number) % 17)
    letters.append(("04000105", "催缴通知", date(2023, 8, 10)))
    return users, bills, letters


def write_water_zh() -> dict[str, object]:
    import openpyxl
    from openpyxl.styles import Font

    rng = random.Random(SEED + 1)
    root = HERE / "water-zh"
    write_text(root / "letterforge.toml", WATER_TOML)
    taken = {"刘犇"}
    users, bills, letters = [], [], []
    shops = list(SHOPS)
    rare_given = False
    for zone_name, zone, district in ZONES:
        numbers = sorted(rng.sample(range(100, 9999), len(WATER_PROFILES[zone])))
        profiles = WATER_PROFILES[zone][:]
        rng.shuffle(profiles)
        for number, profile in zip(numbers, profiles):
            account_id = f"0{zone}{number:06d}"
            shop = profile.startswith("shop")
            if shop:
                name = shops.pop(0)
            elif not rare_given and profile == "one-quarter":
                name, rare_given = "刘犇", True
            else:
                name = unique_name(rng, taken)
            street = rng.choice(STREETS[zone])
            if shop:
                address = f"{district}{street}{rng.randint(1, 199)}号底商"
            else:
                address = (f"{district}{street}{rng.randint(1, 199)}号{rng.randint(1, 12)}幢"
                           f"{rng.randint(1, 4)}单元{rng.randint(1, 18)}0{rng.randint(1, 4)}室")
            category, unpaid, partial = "", [], False
            if profile in ("cand-wilful", "shop-wilful"):
                category, unpaid = "恶意拖欠", [0, 1, 2, 3, 4] if profile == "cand-wilful" else [1, 2, 3, 4]
            elif profile == "wilful-one-demand":
                category, unpaid = "恶意拖欠", [2, 3, 4]
            elif profile in ("one-quarter", "shop-one"):
                category, unpaid = rng.choice(("遗忘", "遗忘", "")), [4]
            elif profile == "two-quarters":
                category, unpaid = rng.choice(("遗忘", "")), [3, 4]
            elif profile == "hardship":
                category, unpaid, partial = "经济困难", [2, 3, 4], True
            elif profile == "dispute":
                category, unpaid = "争议", [3, 4]  # disputes a meter reading
            elif profile == "unknown":
                unpaid = [rng.choice((3, 4))]
            users.append([account_id, name, zone_name, address, category,
                          f"0000-8{rng.randrange(10**6):06d}" if shop else mobile(rng), None])
            water_rate, sewage_rate = TARIFFS["非居民" if shop else "居民"]
            for quarter in unpaid:
                usage = Decimal(rng.randint(120, 420) if shop else rng.randint(18, 65))
                label, due_date = QUARTERS[quarter]
                water = cents(usage * water_rate)
                paid = Decimal(0)
                if partial and rng.random() < 0.7:
                    paid = Decimal(rng.choice([n for n in (30, 50, 80, 100) if n < water]))
                bills.append([account_id, label, "水费", water, paid, due_date])
                bills.append([account_id, label, "污水处理费", cents(usage * sewage_rate), Decimal(0), due_date])
            if profile in ("cand-wilful", "shop-wilful"):
                first = QUARTERS[unpaid[0]][1]
                letters += [(account_id, "催缴通知", date(first.year, first.month + 1, 10)),
                            (account_id, "催费函", date(2026, 5, 12)), (account_id, "催费函", date(2026, 8, 18))]
            elif profile == "wilful-one-demand":
                letters += [(account_id, "催缴通知", date(2026, 5, 11)), (account_id, "催费函", date(2026, 9, 14))]
            elif profile in ("hardship", "two-quarters") and rng.random() < 0.7:
                letters.append((account_id, "催缴通知", date(2026, 8, 10)))
            elif profile == "one-quarter" and rng.random() < 0.4:
                letters.append((account_id, "催缴通知", date(2026, 11, 9)))

    edge_users, edge_bills, edge_letters = water_edge_accounts()
    users += edge_users
    bills += edge_bills
    letters += edge_letters

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "用户"
    sheet.append(["用户编号", "户名", "片区", "用水地址", "欠费类型", "联系电话", "备注"])
    for row in sorted(users):
        sheet.append(row)
        sheet.cell(sheet.max_row, 1).number_format = "@"
    for column, width in zip("ABCDEFG", (12, 20, 10, 44, 10, 16, 40)):
        sheet.column_dimensions[column].width = width
    bill_sheet = workbook.create_sheet("账单")
    bill_sheet.append(["用户编号", "计费周期", "费用名称", "账单金额", "实收金额", "到期日"])
    bills.sort(key=lambda b: (b[0], b[5], b[2] != "水费"))
    for account_id, label, item, due, paid, due_date in bills:
        edge = account_id.startswith("04")  # the edge users' cells draw nothing from the random stream
        paid_cell = None if paid == 0 and (edge or rng.random() < 0.4) else float(paid)
        bill_sheet.append([account_id, label, item, float(due), paid_cell, due_date])
        r = bill_sheet.max_row
        bill_sheet.cell(r, 1).number_format = "@"
        bill_sheet.cell(r, 4).number_format = "#,##0.00"
        bill_sheet.cell(r, 5).number_format = "#,##0.00"
        bill_sheet.cell(r, 6).number_format = "yyyy-mm-dd"
    for column, width in zip("ABCDEF", (12, 16, 12, 12, 12, 12)):
        bill_sheet.column_dimensions[column].width = width
    for ws in (sheet, bill_sheet):
        for cell in ws[1]:
            cell.font = Font(bold=True)
        ws.freeze_panes = "A2"
    workbook.properties.creator = "letterforge samples"
    buffer = io.BytesIO()
    workbook.save(buffer)
    write_bytes(root / "水费台账.xlsx", reproducible_zip(buffer.getvalue()))

    letters.sort(key=lambda x: (x[2], x[0]))
    counters: dict[tuple[str, int], int] = {}
    history_rows = []
    for account_id, kind, when in letters:
        counters[(kind, when.year)] = counters.get((kind, when.year), 0) + 1
        prefix = "云水通字" if kind == "催缴通知" else "云水催字"
        number = counters[(kind, when.year)]
        history_rows.append([account_id, kind, when.isoformat(), f"{prefix}〔{when.year}〕第{number:03d}号"])
    write_csv(root / "已发函件.csv", ["用户编号", "函件类型", "发函日期", "文号"], history_rows, "utf-8", crlf=False)

    by_id = {u[0]: u for u in users}
    demands = {a for a, k, _ in letters if k == "催费函"}
    candidates = sorted(a for a in demands if sum(1 for x, k, _ in letters if x == a and k == "催费函") >= 2)
    summary = {"users": len(users), "bills": len(bills), "letters": len(history_rows), "candidates": candidates,
               "zones": {a: by_id[a][2] for a in candidates},
               "edges": "\n".join(f"- {a}: {what}" for a, what in WATER_EDGE_DESCRIPTIONS)}
    write_text(root / "README.md", water_readme(summary))
    return summary


def reproducible_zip(data: bytes) -> bytes:
    """Re-pack an XLSX with fixed timestamps so that regenerating it gives identical bytes."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(rb"(<dcterms:(created|modified)[^>]*>)[^<]*", rb"\g<1>2026-11-01T00:00:00Z", content)
            fixed = zipfile.ZipInfo(info.filename, date_time=(2026, 11, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            target.writestr(fixed, content)
    return out.getvalue()


def water_readme(s: dict) -> str:
    candidates = ", ".join(f"{a} ({s['zones'][a]})" for a in s["candidates"])
    return f"""\
# 云湖市自来水: sample water-bill workspace (zh-CN)

An invented water utility in an invented city (云湖市). Every name, number and address is made
up; landline numbers start 0000 and mobile numbers have the middle block 0000.
Generated by `samples/make_samples.py`; edit that script, not the files.

**As-of date for demos: 2026-11-25.**

| file | what |
|---|---|
| 水费台账.xlsx, sheet 用户 | {s["users"]} users in four 片区 (read as the building/group column); 备注 is the note on a dispute |
| 水费台账.xlsx, sheet 账单 | {s["bills"]} unpaid or part-paid bill lines (水费 and 污水处理费 for each quarter), 2025年第3季度 .. 2026年第3季度; amounts are number cells, 到期日 real date cells |
| 已发函件.csv | {s["letters"]} letters already sent (UTF-8) |

Bills fall due on the 25th of the month after each quarter (2026-10-25 for 2026年第3季度).
Late fee: 千分之一 per day from the day after the due date, capped at the bill.

On 2026-11-25 the lawyer's-letter candidates (3+ months unpaid, 2 催费函 already sent) are
{candidates}. One more wilful user has only one 催费函 so far.
A shop (非居民 tariff) is among the wilful debtors, so larger bills appear too. The user
刘犇 exercises a rarer character.

Edge users (城南片区), which every letter must describe truthfully:
{s["edges"]}

Check the data: `letterforge -w samples/water-zh validate` should report no problems.
"""


# ---------------------------------------------------------------- receivables-en

RECEIVABLES_TOML = """\
# Harbour Lane Supplies sample workspace: an invented UK company; nothing here is real data.
# Demo as-of date: 2026-11-25.
locale = "en-GB"
currency = "GBP"

[creditor]
name = "Harbour Lane Supplies Ltd"
type = "receivables"
address = "Unit 7, Harbour Lane Business Park, Bristol, BS1 6ZZ"
phone = "0117 496 0123"
office_hours = "Monday to Friday, 9:00 to 17:00"
email = "credit.control@harbourlane.example"
# Trading disclosures (Companies Act 2006): printed on every letter; required for en-GB letters.
company_number = "09876543"
registered_in = "England and Wales"
registered_office = "Unit 7, Harbour Lane Business Park, Bristol, BS1 6ZZ"

[payment.bank_transfer]
payee = "Harbour Lane Supplies Ltd"
bank = "Severnside Commercial Bank plc"
account_number = "20481937"
sort_code = "40-12-34"

[payment.online]
url = "https://pay.example.co.uk/invoice?customer={account_id}"
label = "Pay online"

[late_fee]
# Late Payment of Commercial Debts (Interest) Act 1998: 8% over the Bank of England base rate
# (31 December rate for January to June, 30 June rate for July to December) plus fixed compensation.
rule = "uk_late_payment"
margin = "8"
compensation = true
base_rates = "base_rates.csv"
rounding = "half-up"

[law_firm]
name = "Whitcombe Rowe Solicitors LLP"
address = "Floor 2, 14 Merchant Quay, Bristol, BS1 5ZZ"
phone = "0117 496 0877"
lawyer = "Eleanor Whitcombe"
certificate_number = "SRA ID 287654"
# "Authorised and regulated by the Solicitors Regulation Authority": required for en-GB lawyer's letters.
sra_number = "612345"
company_number = "OC412345"
registered_office = "Floor 2, 14 Merchant Quay, Bristol, BS1 5ZZ"

[data]
accounts = "accounts.json"
arrears = "invoices.csv"
history = "letters.csv"

[letters]
signatory = "Credit Control"
# The Pre-Action Protocol for Debt Claims gives an individual or sole trader 30 days to reply;
# this workspace gives every debtor the same.
lawyer_reply_days = 30
"""

BASE_RATES = (
    ("2022-12-15", "3.50"), ("2023-02-02", "4.00"), ("2023-03-23", "4.25"), ("2023-05-11", "4.50"),
    ("2023-06-22", "5.00"), ("2023-08-03", "5.25"), ("2024-08-01", "5.00"), ("2024-11-07", "4.75"),
    ("2025-02-06", "4.50"), ("2025-05-08", "4.25"), ("2025-08-07", "4.00"), ("2025-12-18", "3.75"),
)

# (account_id, name, address, region, category, email, phone)
CUSTOMERS = (
    ("C-1001", "Quayside Kitchen Fitters Ltd", "Unit 3, Ropewalk Yard, Bedminster, Bristol, BS3 9ZX",
     "South West", "forgot", "accounts@quaysidekitchens.example", "0117 496 0418"),
    ("C-1002", "Penhallow & Daughters Ltd", "2 Chapel Mews, Lemon Quay, Truro, Cornwall, TR1 9ZQ",
     "South West", "hardship", "office@penhallowdaughters.example", "01632 960214"),
    ("C-1003", "Cotswold Ember Bakeries Ltd", "The Old Granary, Mill Lane, Cirencester, GL7 9ZR",
     "South West", "dispute", "finance@cotswoldember.example", "01632 960377"),
    ("C-1004", "Taff Vale Print Works Ltd", "Unit 12, Heol Glandwr Industrial Estate, Cardiff, CF11 9ZW",
     "Wales", "wilful", "accounts@taffvaleprint.example", "029 2018 0562"),
    ("C-1005", "Gower Coast Leisure Ltd", "Bay View House, 40 Mumbles Parade, Swansea, SA3 9ZT",
     "Wales", "", "payables@gowercoastleisure.example", "01632 960488"),
    ("C-1006", "Mercia Lantern Events Ltd", "Suite 5, 18 Jewellery Row, Birmingham, B18 9ZS",
     "Midlands", "wilful", "ap@mercialantern.example", "0121 496 0731"),
    ("C-1007", "Trentside Joinery Ltd", "Wharf Works, 9 Canal Street, Nottingham, NG1 9ZP",
     "Midlands", "forgot", "accounts@trentsidejoinery.example", "0115 496 0275"),
    ("C-1008", "Ashgrove Dental Supplies Ltd", "Ashgrove House, 77 Granby Road, Leicester, LE1 9ZN",
     "Midlands", "", "purchasing@ashgrovedental.example", "0116 496 0190"),
    ("C-1009", "Thamesreach Hospitality Ltd", "4th Floor, 120 Long Reach Road, London, SE1 9ZL",
     "London & South East", "hardship", "accounts@thamesreach.example", "020 7946 0851"),
    ("C-1010", "Larkfield Office Interiors Ltd", "Unit B, Larkfield Trade Park, Maidstone, Kent, ME20 9ZJ",
     "London & South East", "dispute", "finance@larkfieldinteriors.example", "01632 960655"),
    ("C-1011", "Northbank Studio Lighting Ltd", "Arch 21, Northbank Yard, London, N7 9ZH",
     "London & South East", "wilful", "billing@northbanklighting.example", "020 7946 0394"),
    ("C-1012", "Samuel Okafor trading as Okafor Mobile Catering", "17 Linden Close, Tilehurst, Reading, RG31 9ZG",
     "London & South East", "hardship", "sam@okaforcatering.example", "07700 900417"),
    ("C-1013", "Wyvern Garden Centres Ltd", "Wyvern Nurseries, Powick Road, Worcester, WR2 9ZF",
     "Midlands", "forgot", "accounts@wyverngardens.example", "01632 960903"),
    ("C-1014", "Avonmere Veterinary Practice Ltd", "1 Avonmere Parade, Keynsham, Bristol, BS31 9ZE",
     "South West", "", "practice@avonmerevets.example", "0117 496 0946"),
)

# Debtor type, and the title and surname a letter writes "Dear Mr Okafor" with; every other
# customer is a company, written to as "Dear Sir or Madam".
CUSTOMER_ADDRESSING = {
    "C-1012": ("sole_trader", "Mr", "Okafor"),
    "C-1015": ("sole_trader", "Ms", "Adeyemi"),
    "C-1016": ("company", "", ""),
    "C-1017": ("company", "", ""),
    "C-1018": ("sole_trader", "", ""),
}
# Edge accounts the letters must survive: a sole trader with one invoice and no earlier letters, a
# tiny debt, a very long invoice list, a sole trader without a named contact.
EDGE_CUSTOMERS = (
    ("C-1015", "Grace Adeyemi trading as Adeyemi Party Hire", "Flat 2, 9 Orchard Row, Yeovil, BA20 9ZD",
     "South West", "", "grace@adeyemipartyhire.example", "07700 900683"),
    ("C-1016", "Kennet Valley Signs Ltd", "Unit 1, Kennet Wharf, Newbury, RG14 9ZC",
     "London & South East", "forgot", "accounts@kennetsigns.example", "01632 960571"),
    ("C-1017", "Brunel Event Catering Ltd", "Arches 4-6, Temple Back, Bristol, BS1 9ZB",
     "South West", "wilful", "finance@bruneleventcatering.example", "0117 496 0662"),
    ("C-1018", "Rhys Morgan Landscapes", "Ty Newydd, Heol y Cwm, Bridgend, CF31 9ZA",
     "Wales", "dispute", "rhys@morganlandscapes.example", "07700 900259"),
)
# Brunel Event Catering: 40 monthly event invoices, unpaid since July 2023 (a schedule of many pages).
LONG_INVOICES = tuple(
    ("C-1017", f"{2023 + (6 + n) // 12}-{(6 + n) % 12 + 1:02d}-28", "Event catering" if n % 3 else "Equipment hire",
     f"{120 + (n * 37) % 860}.{(n * 13) % 100:02d}", "0")
    for n in range(40)
)
EDGE_INVOICES = (
    ("C-1015", "2026-05-29", "Equipment hire", "1250.00", "0"),
    ("C-1016", "2026-09-30", "Delivery", "14.20", "0"),
    ("C-1018", "2026-06-30", "Landscaping supplies", "2140.00", "0"),
    ("C-1018", "2026-08-31", "Landscaping supplies", "386.40", "0"),
) + LONG_INVOICES

# (account_id, due date, fee item, amount due, amount paid); invoice numbers follow the dates.
INVOICES = (
    ("C-1001", "2026-09-30", "Goods supplied", "845.60", "0"),
    ("C-1001", "2026-10-31", "Delivery", "96.00", "0"),
    ("C-1002", "2026-02-28", "Goods supplied", "2418.75", "1000.00"),
    ("C-1002", "2026-05-31", "Goods supplied", "1736.20", "500.00"),
    ("C-1002", "2026-08-31", "Goods supplied", "912.40", "0"),
    ("C-1003", "2026-06-30", "Installation services", "4650.00", "0"),
    ("C-1003", "2026-07-31", "Goods supplied", "388.15", "0"),
    ("C-1004", "2025-06-30", "Goods supplied", "12480.00", "0"),
    ("C-1004", "2025-09-30", "Goods supplied", "7325.90", "2000.00"),
    ("C-1004", "2025-12-31", "Delivery", "240.00", "0"),
    ("C-1004", "2026-03-31", "Goods supplied", "10000.00", "0"),
    ("C-1005", "2026-10-15", "Equipment hire", "1000.00", "0"),
    ("C-1005", "2026-10-31", "Goods supplied", "532.80", "0"),
    ("C-1006", "2025-11-30", "Equipment hire", "3890.00", "0"),
    ("C-1006", "2026-01-31", "Goods supplied", "18250.40", "5000.00"),
    ("C-1006", "2026-04-30", "Delivery", "310.00", "0"),
    ("C-1006", "2026-07-31", "Goods supplied", "9999.99", "0"),
    ("C-1007", "2026-10-31", "Goods supplied", "1264.35", "0"),
    ("C-1008", "2026-08-31", "Goods supplied", "699.99", "0"),
    ("C-1008", "2026-09-30", "Goods supplied", "2104.50", "0"),
    ("C-1008", "2026-10-31", "Delivery", "85.00", "0"),
    ("C-1009", "2025-12-31", "Goods supplied", "5620.00", "3000.00"),
    ("C-1009", "2026-03-31", "Goods supplied", "3318.45", "0"),
    ("C-1009", "2026-06-30", "Equipment hire", "780.00", "250.00"),
    ("C-1009", "2026-09-30", "Goods supplied", "1450.00", "0"),
    ("C-1010", "2026-05-31", "Installation services", "14320.00", "7160.00"),
    ("C-1010", "2026-08-31", "Goods supplied", "627.30", "0"),
    ("C-1011", "2025-08-31", "Goods supplied", "6740.25", "0"),
    ("C-1011", "2025-10-31", "Equipment hire", "999.99", "0"),
    ("C-1011", "2026-01-31", "Goods supplied", "11875.00", "0"),
    ("C-1011", "2026-05-31", "Delivery", "145.50", "0"),
    ("C-1012", "2026-04-30", "Equipment hire", "460.00", "200.00"),
    ("C-1012", "2026-07-31", "Goods supplied", "1182.60", "0"),
    ("C-1012", "2026-10-31", "Goods supplied", "374.25", "0"),
    ("C-1014", "2026-09-30", "Goods supplied", "2980.00", "0"),
    ("C-1014", "2026-10-31", "Goods supplied", "412.70", "0"),
)

# Letters sent before letterforge kept the record: (account_id, kind, issued on).
RECEIVABLES_LETTERS = (
    ("C-1004", "reminder", "2025-07-14"), ("C-1004", "reminder", "2025-08-15"),
    ("C-1004", "demand", "2025-10-06"), ("C-1004", "demand", "2026-01-12"),
    ("C-1006", "reminder", "2025-12-15"), ("C-1006", "demand", "2026-03-09"),
    ("C-1006", "demand", "2026-06-22"),
    ("C-1011", "reminder", "2025-09-15"), ("C-1011", "demand", "2025-11-17"),
    ("C-1011", "demand", "2026-03-02"), ("C-1011", "demand", "2026-08-10"),
    ("C-1009", "reminder", "2026-01-19"), ("C-1009", "demand", "2026-07-20"),
    ("C-1002", "reminder", "2026-03-16"), ("C-1002", "reminder", "2026-06-15"),
    ("C-1010", "reminder", "2026-06-15"),
    ("C-1003", "reminder", "2026-07-13"),
    ("C-1001", "reminder", "2026-10-12"),
    ("C-1012", "reminder", "2026-06-15"), ("C-1012", "demand", "2026-08-17"),
    ("C-1012", "demand", "2026-10-05"),
    ("C-1017", "reminder", "2024-02-12"), ("C-1017", "demand", "2024-06-17"),
    ("C-1017", "demand", "2025-09-15"),
    ("C-1018", "reminder", "2026-09-14"), ("C-1018", "demand", "2026-10-12"),
)


def write_receivables_en() -> dict[str, object]:
    root = HERE / "receivables-en"
    write_text(root / "letterforge.toml", RECEIVABLES_TOML)
    write_csv(root / "base_rates.csv", ["effective_from", "rate"], [list(r) for r in BASE_RATES], "utf-8", crlf=False)
    customers = CUSTOMERS + EDGE_CUSTOMERS
    accounts = []
    for a, n, addr, region, cat, email, phone in customers:
        debtor_type, title, surname = CUSTOMER_ADDRESSING.get(a, ("company", "", ""))
        account = {"account_id": a, "name": n, "address": addr, "building": region, "category": cat,
                   "language": "en-GB", "email": email, "phone": phone, "debtor_type": debtor_type}
        if title:
            account.update(title=title, surname=surname)
        accounts.append(account)
    write_text(root / "accounts.json", json.dumps(accounts, ensure_ascii=False, indent=2) + "\n")
    numbered = sorted(INVOICES, key=lambda i: (i[1], i[0]))
    counters: dict[int, int] = {}
    rows = []
    for account_id, due, item, amount, paid in numbered:
        year = int(due[:4]) if due[5:7] != "01" else int(due[:4]) - 1  # invoiced 30 days before due
        counters[year] = counters.get(year, 0) + 1
        number = f"INV-{year}-{counters[year] * 37 + 100:04d}"
        rows.append([account_id, number, item, amount, f"{Decimal(paid):.2f}", due])
    # The edge accounts' invoices are numbered after the others, so the original numbers stay.
    for account_id, due, item, amount, paid in sorted(EDGE_INVOICES, key=lambda i: (i[1], i[0])):
        year = int(due[:4]) if due[5:7] != "01" else int(due[:4]) - 1
        counters[year] = counters.get(year, 0) + 1
        number = f"INV-{year}-{counters[year] * 37 + 100:04d}"
        rows.append([account_id, number, item, amount, f"{Decimal(paid):.2f}", due])
    rows.sort(key=lambda r: (r[0], r[5]))
    write_csv(root / "invoices.csv", ["account_id", "period", "fee_item", "amount_due", "amount_paid", "due_date"],
              rows, "utf-8", crlf=False)
    counters = {}
    letter_rows = []
    for account_id, kind, issued in sorted(RECEIVABLES_LETTERS, key=lambda x: (x[2], x[0])):
        counters[kind] = counters.get(kind, 0) + 1
        letter_rows.append([account_id, kind, issued, f"HLS/{'REM' if kind == 'reminder' else 'DEM'}/{issued[:4]}/{counters[kind]:03d}"])
    write_csv(root / "letters.csv", ["account_id", "kind", "issued_on", "reference"], letter_rows, "utf-8", crlf=False)
    write_text(root / "README.md", RECEIVABLES_README.format(customers=len(customers), invoices=len(rows),
                                                             letters=len(letter_rows)))
    return {"customers": len(customers), "invoices": len(rows), "letters": len(letter_rows)}


RECEIVABLES_README = """\
# Harbour Lane Supplies: sample B2B receivables workspace (en-GB)

An invented Bristol wholesaler chasing overdue invoices from invented business customers.
Phone numbers are from Ofcom's ranges reserved for drama (0117 496 0xxx, 020 7946 0xxx,
01632 960xxx, 07700 900xxx ...); e-mail domains end in .example; postcodes, bank details and
the SRA number are made up. Generated by `samples/make_samples.py`; edit that script, not the files.

**As-of date for demos: 2026-11-25.**

| file | what |
|---|---|
| accounts.json | {customers} customers; `building` holds the sales region, used to group and spread letters |
| invoices.csv | {invoices} unpaid or part-paid invoices, due 2023-07-28 .. 2026-10-31 (UTF-8) |
| letters.csv | {letters} reminders and demands already sent |
| base_rates.csv | Bank of England base-rate changes (effective_from, rate in percent) |

Late payment: statutory interest under the Late Payment of Commercial Debts (Interest) Act
1998 at 8% over the base rate (the rate on 31 December for January to June, on 30 June for
July to December), plus fixed compensation per invoice: £40 under £1,000, £70 from £1,000 to
£9,999.99, £100 from £10,000. Invoices sit in every band and on its edges (999.99, 1,000.00,
9,999.99, 10,000.00); several are part-paid. C-1013 owes nothing.

Debtor types (`debtor_type`): every customer is a `company` (letters open "Dear Sir or Madam"
and close "Yours faithfully"; a letter before action is a plain one) except the sole traders
C-1012 and C-1015 (with `title` and `surname`: "Dear Mr Okafor … Yours sincerely") and C-1018
(no named contact). To a sole trader, a letter before action is a Letter of Claim under the
Pre-Action Protocol for Debt Claims, with the Information Sheet, Reply Form and Financial
Statement as pages of the letter.

Edge accounts: C-1015 has one invoice and no earlier letters; C-1016 owes £14.20; C-1017 has
40 unpaid monthly invoices since July 2023 (Schedule 2 runs over several pages); C-1018 is a
dispute with no note.

Customers with 2+ demands and 3+ months overdue on 2026-11-25: C-1004, C-1006, C-1011, C-1012,
C-1017.

## Keep base_rates.csv current

**The table must be kept current from the Bank of England** (Bank Rate history,
https://www.bankofengland.co.uk/boeapps/database/Bank-Rate.asp). Statutory interest for a
half-year uses the rate in force on 31 December or 30 June, so a missing change gives wrong
interest. The sample was last checked up to the rate of 3.75% from 18 December 2025, which is
the reference rate for January to June 2026; any change since, in particular the rate in force
on 30 June 2026 (reference for July to December 2026), must be added before relying on the
figures.

Check the data: `letterforge -w samples/receivables-en validate` should report no problems.
"""


# ---------------------------------------------------------------- broken-property-zh

BROKEN_ACCOUNTS = (
    # (户号, 姓名, 楼栋, 房号, 欠费类型, 暂缓原因, 暂缓至, expected problem or "")
    ("JX-1-0201", "周建华", "1栋", "0201", "遗忘", "", "", ""),
    ("JX-1-0202", "吴丽娟", "1栋", "0202", "恶意拖欠", "", "", ""),
    ("JX-1-0301", "郑国平", "1栋", "0301", "", "", "", "duplicate"),
    ("JX-1-0302", "", "1栋", "0302", "经济困难", "", "", "empty name"),
    ("JX-1-0301", "郑国平（重复录入）", "1栋", "0301", "", "", "", "duplicate"),
    ("JX-1-0401", "蔡志刚", "1栋", "0401", "钉子户", "", "", "unknown category"),
    ("JX-1-0402", "孙美玲", "1栋", "0402", "整改", "投诉处理中", "2026年12月31日", ""),
    ("JX-1-0501", "冯德明", "1栋", "0501", "经济困难", "", "", ""),
)
BROKEN_ARREARS = (
    # (户号, 账期, 收费项目, 应收金额, 已缴金额, 应缴日期, expected problem or "")
    ("JX-1-0201", "2026-09", "物业服务费", "250.24", "", "2026/9/5", ""),
    ("JX-1-0201", "2026-10", "物业服务费", "250.24", "0.00", "2026年10月5日", ""),
    ("JX-1-0201", "2026-10", "公共能耗分摊", "18.77", "", "2026-10-05", ""),
    ("JX-1-0202", "2026-05", "物业服务费", "354.31", "", "2026-05-05", ""),
    ("JX-1-0202", "2026-06", "物业服务费", "354.312", "", "2026-06-05", "3 decimals"),
    ("JX-1-0202", "2026-07", "物业服务费", "354.31", "0.00", "2026/7/5", ""),
    ("JX-1-0202", "2026-08", "物业服务费", "-354.31", "", "2026-08-05", "negative"),
    ("JX-1-0202", "2026-09", "物业服务费", "354.31", "400.00", "2026-09-05", "paid above due"),
    ("JX-1-0202", "2026-10", "物业服务费", "354.31", "", "2026-10-05", ""),
    ("JX-1-0202", "2026-01", "车位管理费", "1,440.00", "720.00", "2026年1月5日", ""),
    ("JX-1-0301", "2026-10", "物业服务费", "250.24", "", "2026-10-05", "account rejected"),
    ("JX-1-0402", "2026-02", "物业服务费", "壹佰元", "", "2026-02-05", "not a number"),
    ("JX-1-0402", "2026-02", "公共能耗分摊", "24.18", "", "2026-02-30", "impossible date"),
    ("JX-1-0402", "2026-03", "物业服务费", "316.12", "", "2026-03-05", ""),
    ("JX-1-0402", "2026-04", "物业服务费", "316.12", "", "下月初", "unparseable date"),
    ("JX-1-0501", "2026-08", "物业服务费", "302.85", "150.00", "2026-08-05", ""),
    ("JX-1-0501", "2026-09", "物业服务费", "302.85", "100.00", "2026.9.5", ""),
    ("JX-1-0501", "2026-10", "物业服务费", "302.85", "", "2026-10-05", ""),
    ("JX-9-9901", "2026-10", "物业服务费", "280.00", "", "2026-10-05", "unknown account"),
    ("JX-1-0501", "2026-10", "公共能耗分摊", "21.63", "0", "2026-10-05", ""),
)
# The diagnostics `load_debtor_data` must report, in its order: (file, row, column, code, message).
BROKEN_EXPECTED = (
    ("住户.csv", 4, "account_id", "duplicate-account",
     "account JX-1-0301 appears on rows 4, 6; fix the duplicates, none of them is used"),
    ("住户.csv", 5, "姓名", "required", "required value is empty"),
    ("住户.csv", 6, "account_id", "duplicate-account",
     "account JX-1-0301 appears on rows 4, 6; fix the duplicates, none of them is used"),
    ("住户.csv", 7, "欠费类型", "invalid",
     "unknown debtor category '钉子户' (use forgot, hardship, dispute, wilful, unknown)"),
    ("欠费明细.csv", 6, "应收金额", "invalid", "more than two decimals: '354.312'"),
    ("欠费明细.csv", 8, "应收金额", "invalid", "negative amount: '-354.31'"),
    ("欠费明细.csv", 9, "已缴金额", "paid-above-due", "amount paid 400.00 is more than amount due 354.31"),
    ("欠费明细.csv", 12, "account_id", "unknown-account",
     "JX-1-0301: its account was rejected (see the accounts errors)"),
    ("欠费明细.csv", 13, "应收金额", "invalid", "not a number: '壹佰元'"),
    ("欠费明细.csv", 14, "应缴日期", "invalid", "no such date: '2026-02-30'"),
    ("欠费明细.csv", 16, "应缴日期", "invalid",
     "not a date: '下月初' (write 2026-03-05, 2026/3/5 or 2026年3月5日)"),
    ("欠费明细.csv", 20, "account_id", "unknown-account", "JX-9-9901: no such account in the accounts file"),
)


def write_broken_property_zh() -> dict[str, object]:
    root = HERE / "broken-property-zh"
    write_text(root / "letterforge.toml", PROPERTY_TOML.replace(
        "# 锦绣华庭 sample workspace", "# BROKEN on purpose (see EXPECTED.md); otherwise like the 锦绣华庭 sample workspace")
        + PROPERTY_LETTERS_TOML)
    rng = random.Random(SEED + 3)
    write_csv(root / "住户.csv", ["户号", "姓名", "楼栋", "房号", "地址", "欠费类型", "联系电话", "暂缓原因", "暂缓至"],
              [[a, n, b, u, f"{ADDRESS_PREFIX}{b}{u}室", c, mobile(rng), hr, hu]
               for a, n, b, u, c, hr, hu, _ in BROKEN_ACCOUNTS], "gbk", crlf=True)
    write_csv(root / "欠费明细.csv", ["户号", "账期", "收费项目", "应收金额", "已缴金额", "应缴日期"],
              [list(r[:6]) for r in BROKEN_ARREARS], "gbk", crlf=True)
    valid_accounts = len({r[0] for r in BROKEN_ACCOUNTS if not r[7]})
    valid_arrears = sum(1 for r in BROKEN_ARREARS if not r[6])
    lines = [
        "# broken-property-zh: data that must be rejected, row by row",
        "",
        "A small copy of the 锦绣华庭 workspace with one mistake of each kind letterforge must catch.",
        "Row numbers count the header as row 1, as a spreadsheet shows them. Generated by",
        "`samples/make_samples.py`; a test compares `load_debtor_data` with the table below.",
        "",
        f"Still loaded: {valid_accounts} accounts (JX-1-0201, JX-1-0202, JX-1-0402, JX-1-0501) and "
        f"{valid_arrears} arrears rows. No history file is configured.",
        "",
        "| file:row | column | code | message | the mistake |",
        "|---|---|---|---|---|",
    ]
    mistakes = {
        ("住户.csv", 4): "duplicate account id (first row)",
        ("住户.csv", 5): "empty required name",
        ("住户.csv", 6): "duplicate account id (second row)",
        ("住户.csv", 7): "unknown 欠费类型 value",
        ("欠费明细.csv", 6): "amount with 3 decimals",
        ("欠费明细.csv", 8): "negative amount due",
        ("欠费明细.csv", 9): "paid above due",
        ("欠费明细.csv", 12): "arrears of a rejected (duplicated) account",
        ("欠费明细.csv", 13): "amount that is not a number",
        ("欠费明细.csv", 14): "impossible date",
        ("欠费明细.csv", 16): "unparseable date",
        ("欠费明细.csv", 20): "arrears row for an unknown account",
    }
    for file, row, column, code, message in BROKEN_EXPECTED:
        lines.append(f"| {file}:{row} | {column} | {code} | {message} | {mistakes[(file, row)]} |")
    lines += ["", "As-of date for demos: 2026-11-25.", ""]
    write_text(root / "EXPECTED.md", "\n".join(lines))
    write_text(root / "README.md", """\
# broken-property-zh: a workspace with deliberate mistakes

Every data mistake letterforge must report, each at least once, next to valid rows that must
still load. See EXPECTED.md for the exact diagnostics (file:row, column, message). Invented
data only. As-of date for demos: 2026-11-25.

`letterforge -w samples/broken-property-zh validate` must list exactly those problems and exit 1.
""")
    return {"expected": len(BROKEN_EXPECTED)}


def write_index() -> None:
    write_text(HERE / "README.md", """\
# Sample workspaces

Invented data only: no real person, company, phone number or account. Demo as-of date: 2026-11-25.

| workspace | what |
|---|---|
| property-zh | 锦绣华庭, a residential community: monthly property fees, GBK CSV exports, letters already sent; edge accounts in 6栋 (one item only, a tiny debt, a dispute with and without a note, arrears since 2023 past the limitation period) |
| water-zh | 云湖市自来水: quarterly water bills in one XLSX workbook (sheets 用户 and 账单); edge users in 城南片区 (one item only, a tiny debt, two-monthly bills, a dispute with a note, arrears since 2023) |
| receivables-en | Harbour Lane Supplies Ltd, Bristol: overdue B2B invoices, UK late-payment interest |
| broken-property-zh | deliberate data mistakes; EXPECTED.md lists the diagnostics they must produce |

All files are written by `python samples/make_samples.py` (deterministic; rerunning gives the
same bytes). Change the script, then rerun it, rather than editing the files by hand.
""")


def main() -> None:
    property_summary = write_property_zh()
    water_summary = write_water_zh()
    receivables_summary = write_receivables_en()
    broken_summary = write_broken_property_zh()
    write_index()
    print("property-zh lawyer's-letter candidates:", ", ".join(property_summary["candidates"]))
    print("water-zh lawyer's-letter candidates:", ", ".join(water_summary["candidates"]))
    print("receivables-en:", receivables_summary)
    print("broken-property-zh expected diagnostics:", broken_summary["expected"])


if __name__ == "__main__":
    main()
