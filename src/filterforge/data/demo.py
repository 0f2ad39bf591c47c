"""Synthetic, oracle-scored news articles for the ``investment-risk/v2`` filter.

The README demo trains a student model on data the repository generates itself,
so this module writes articles *and* the scores an LLM oracle would have given
them. It is pure standard library (no numpy, no torch) and deterministic for a
seed.

How it works
------------
Every article belongs to one *scenario* (bank failure, currency crisis, calm
markets, clickbait, unrelated sports news ...). Three hidden variables drive
both the text and the scores:

* ``severity`` in [0, 1]: how bad (or, for entry-point pieces, how extreme) the
  situation is. It picks the wording tier of the title, lede, details and
  quotes, and scales the numbers in the text (losses, number of banks, % moves,
  spreads, "highest since ..."). Each scenario maps it linearly onto a per
  dimension score range.
* ``sourcing`` in 0..3: how many sentences cite official data, filings or
  statistics. It sets ``evidence_quality`` (roughly ``1 + 2 * sourcing``); with
  no sourcing the article carries hearsay instead.
* ``action`` in 0..3: how many sentences describe concrete steps investors or
  managers are taking. It sets ``actionability`` (roughly ``1 + 2 * action``).

A little noise (±1 on a few dimensions) mimics an imperfect oracle, and some
articles carry "distractor" sentences borrowed from other scenarios, so a
bag-of-words model cannot be perfect. The filter's content caps are applied
last: stock tips and affiliate promotion score 0 on every weighted dimension,
clickbait gets ``evidence_quality <= 3``, unrelated news stays within 0-2.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import tempfile
from typing import Any, Iterable

__all__ = [
    "DIMENSIONS",
    "SIGNAL_DIMENSIONS",
    "ANALYSIS_KEY",
    "SCENARIOS",
    "generate_demo_articles",
    "write_jsonl",
]

DIMENSIONS = [
    "macro_risk_severity",
    "credit_market_stress",
    "market_sentiment_extremes",
    "valuation_risk",
    "policy_regulatory_risk",
    "systemic_risk",
    "evidence_quality",
    "actionability",
]
#: The weighted dimensions that the filter's content caps force to 0.
SIGNAL_DIMENSIONS = DIMENSIONS[:6]
ANALYSIS_KEY = "investment-risk_analysis"

SOURCE = "filterforge-demo"

# --------------------------------------------------------------------------- #
# Fictional world
# --------------------------------------------------------------------------- #

# name, currency, capital, central bank, regulator, index
_COUNTRIES = [
    ("Veloria", "velor", "Port Aster", "the Veloria Reserve Bank", "the Velorian Prudential Authority", "VLX 40"),
    ("Marendia", "marend crown", "Keldhaven", "the Central Bank of Marendia", "the Marendian Financial Conduct Office", "Marendia Composite"),
    ("Kestrovia", "kestro", "Vallin", "the Kestrovian National Bank", "the Kestrovia Banking Commission", "KSE 30"),
    ("Durania", "duran", "Ossery", "the Bank of Durania", "the Duranian Securities Board", "Durania All-Share"),
    ("Solvane", "solvane mark", "Thessaly Bay", "the Solvane Monetary Authority", "the Solvane Markets Authority", "SLV 50"),
    ("Tarkessa", "tark", "Emberfall", "the Tarkessan Reserve", "the Tarkessa Supervisory Council", "Tarkessa 25"),
    ("Brevonia", "brev", "Lowmere", "the National Bank of Brevonia", "the Brevonian Banking Supervisor", "BVX Index"),
    ("Calderra", "calder", "San Orlo", "the Calderran Central Bank", "the Calderra Financial Stability Board", "Calderra Blue Chip"),
    ("Nuvaria", "nuvar", "Wexford Reach", "the Nuvarian Monetary Board", "the Nuvaria Capital Markets Commission", "NVX 60"),
    ("Zephiria", "zephir", "Corran", "the Bank of Zephiria", "the Zephirian Conduct Authority", "Zephiria Leaders"),
    ("Ostmarra", "ostmar", "Greyport", "the Ostmarra Currency Board", "the Ostmarran Financial Services Authority", "OMX 20"),
    ("Quandor", "quan", "Halberg", "the Quandor Reserve Institute", "the Quandor Securities Commission", "QDX Broad"),
]

_BANK_A = ["Northgate", "Harborline", "Crestmont", "Silverbrook", "Ironbridge", "Bluewater", "Redfield", "Eastholm",
           "Granite Peak", "Lakeshore", "Oakhurst", "Meridian Cross", "Stonegate", "Westerly", "Highmoor", "Copperfield"]
_BANK_B = ["Bank", "Savings Bank", "Trust", "Bancorp", "Financial", "Commercial Bank", "Mutual", "Capital Bank"]
_CO_A = ["Aldane", "Brightwell", "Corvex", "Delmora", "Everlight", "Fenwick", "Glastra", "Helion", "Istara", "Jorvik",
         "Kaltrix", "Lumora", "Monteval", "Nexora", "Orbis", "Pellara", "Quintal", "Rovane", "Sytrel", "Tavira",
         "Ulmera", "Vantor", "Wyncrest", "Xeltra", "Yarrow", "Zentis"]
_CO_B = ["Dynamics", "Systems", "Holdings", "Labs", "Energy", "Foods", "Logistics", "Robotics", "Materials",
         "Networks", "Therapeutics", "Motors", "Semiconductors", "Retail Group", "Industries", "Software"]
_FIRST = ["Amira", "Jonas", "Priya", "Mateo", "Helena", "Kofi", "Ingrid", "Tomasz", "Lena", "Rafael", "Sun-hee",
          "Daniel", "Yara", "Oskar", "Beatriz", "Hamid", "Clara", "Viktor", "Naomi", "Elias", "Freya", "Tariq"]
_LAST = ["Okafor", "Lindqvist", "Moreau", "Castellano", "Havel", "Nakamura", "Brandt", "Oyelaran", "Kowalski",
         "Ferreira", "Achterberg", "Solberg", "Mendez", "Varga", "Whitlock", "Deshpande", "Marsh", "Rahimi"]
_FIRM_A = ["Halden", "Ravensworth", "Tidewater", "Calloway", "Kingsmere", "Ashby", "Pemberton", "Larkspur",
           "Fairhaven", "Brookstone", "Alder", "Sterling Vale"]
_FIRM_B = ["Capital", "Research", "Partners", "Asset Management", "Advisors", "Economics", "Securities", "Investors"]
_ROLES = ["chief economist", "head of fixed income", "senior credit analyst", "chief investment officer",
          "head of macro strategy", "portfolio manager", "banking analyst", "emerging-markets strategist",
          "head of research", "chief market strategist"]
_SECTORS = ["regional banking", "commercial property", "utility", "consumer staples", "semiconductor",
            "shipping", "retail", "insurance", "energy", "telecoms", "housebuilding", "chemicals",
            "software", "aviation", "mining", "media", "healthcare"]
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"]
_WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
_TEAMS = ["Port Aster Rovers", "Keldhaven City", "Vallin Athletic", "Ossery Wanderers", "Emberfall United",
          "Lowmere Harriers", "San Orlo Comets", "Greyport Mariners", "Halberg Falcons", "Corran Thistle"]
_PLAYERS = ["Luca Ferrand", "Dion Achebe", "Marek Sobol", "Tiago Lins", "Olle Brask", "Ravi Menon",
            "Jasper Quill", "Nikos Dray", "Emil Forsberg-Hale", "Kwame Adjei"]


def _s(x: float, nd: int = 1) -> str:
    """Format a number, dropping a trailing .0."""
    v = round(x, nd)
    return str(int(v)) if v == int(v) else str(v)


def _context(rng: random.Random, sev: float) -> dict[str, str]:
    """All template slots for one article; numbers scale with ``sev``."""
    c1, c2 = rng.sample(_COUNTRIES, 2)
    ba, bb = rng.sample(_BANK_A, 2)
    ca, cb = rng.sample(_CO_A, 2)
    fa, fb = rng.sample(_FIRM_A, 2)
    f1, f2 = rng.sample(_FIRST, 2)
    l1, l2 = rng.sample(_LAST, 2)
    sec1, sec2 = rng.sample(_SECTORS, 2)
    t1, t2 = rng.sample(_TEAMS, 2)
    j = lambda: rng.uniform(0.75, 1.3)  # noqa: E731 - jitter
    year_span = 2 + int(sev * 22 * j())
    ctx = {
        "country": c1[0], "currency": c1[1], "capital": c1[2], "cb": c1[3], "regulator": c1[4], "index": c1[5],
        "country2": c2[0], "currency2": c2[1], "cb2": c2[3],
        "bank": f"{ba} {rng.choice(_BANK_B)}", "bank2": f"{bb} {rng.choice(_BANK_B)}",
        "company": f"{ca} {rng.choice(_CO_B)}", "company2": f"{cb} {rng.choice(_CO_B)}",
        "ticker": (ca[:3] + rng.choice("XQZKV")).upper(),
        "analyst": f"{f1} {l1}", "analyst2": f"{f2} {l2}",
        "firm": f"{fa} {rng.choice(_FIRM_B)}", "firm2": f"{fb} {rng.choice(_FIRM_B)}",
        "role": rng.choice(_ROLES), "role2": rng.choice(_ROLES),
        "sector": sec1, "sector2": sec2,
        "month": rng.choice(_MONTHS), "weekday": rng.choice(_WEEKDAYS),
        "team": t1, "team2": t2, "player": rng.choice(_PLAYERS),
        "since_year": str(2026 - year_span), "years": str(year_span),
        # severity-scaled quantities
        "loss_bn": _s(0.3 + sev * 42 * j()),
        "n_banks": str(1 + int(sev * 5.5)),
        "outflow_pct": _s(2 + sev * 33 * j(), 0),
        "drop_pct": _s(1.5 + sev * 28 * j()),
        "fx_drop": _s(1.5 + sev * 38 * j()),
        "rate_bp": str(25 * (1 + int(sev * 4.5))),
        "spread_bp": str(int(60 + sev * 640 * j())),
        "default_rate": _s(1.2 + sev * 9 * j()),
        "pe": _s(18 + sev * 34 * j(), 0),
        "cheap_pe": _s(max(5.5, 16.5 - 9 * sev * j())),
        "fear_idx": str(int(17 + sev * 52 * j())),
        "bearish_pct": str(min(92, int(38 + sev * 45 * j()))),
        "rally_pct": _s(8 + sev * 140 * j(), 0),
        "fine_bn": _s(0.1 + sev * 11 * j()),
        "oil_pct": _s(2 + sev * 38 * j()),
        "inflation": _s(2.1 + sev * 15 * j()),
        "reserves_pct": _s(4 + sev * 45 * j(), 0),
        "n_firms": str(2 + int(sev * 30 * j())),
        "debt_bn": _s(0.8 + sev * 60 * j()),
        "small_pct": _s(rng.uniform(0.2, 2.4)),
        "pct": _s(rng.uniform(1, 9)),
        "eps_pct": _s(rng.uniform(1, 14)),
        "hype_pct": str(rng.choice([150, 200, 300, 400, 500, 700, 1000])),
        "price": _s(rng.uniform(0.05, 4.9), 2),
        "discount": str(rng.choice([20, 25, 30, 40, 50, 60, 70])),
        "fee": _s(rng.uniform(4, 49), 2),
        "temp": str(rng.randint(28, 44)),
        "rain_mm": str(rng.randint(40, 260)),
        "score1": str(rng.randint(0, 4)), "score2": str(rng.randint(0, 3)),
        "attendance": f"{rng.randint(8, 72)},{rng.randint(100, 999)}",
        "minute": str(rng.randint(3, 93)),
        "cash_pct": str(rng.randint(6, 30)),
        "hedge_pct": str(rng.randint(20, 80)),
        "quarter": rng.choice(["first", "second", "third", "fourth"]),
    }
    return ctx


# --------------------------------------------------------------------------- #
# Shared pools
# --------------------------------------------------------------------------- #

_EVIDENCE = [
    "According to the {country} statistics office, inflation stood at {inflation}% in {month}, and industrial output contracted.",
    "Data from {cb}'s weekly balance sheet show official reserves down {reserves_pct}% since the start of the year.",
    "Exchange data compiled by {firm} show the {index} has fallen {drop_pct}% from its peak.",
    "Bond-market data show the average high-yield spread in {country} at {spread_bp} basis points over government debt.",
    "Minutes of the latest meeting of {cb}, published on {weekday}, record a split vote among policymakers.",
    "Official trade statistics show exports from {country} to {country2} dropped sharply in {month}.",
    "Survey data published by {firm2} show the share of bearish fund managers at {bearish_pct}%, the highest since {since_year}.",
    "A statement on the {regulator} website confirms the figures and says further disclosures will follow.",
    "Treasury auction results posted on {weekday} show demand at its weakest level since {since_year}.",
]

# Data citations that do not by themselves imply stress (calm, entry-point, bubble, regulation pieces).
_EVIDENCE_NEUTRAL = [
    "Company filings show {company}'s revenue rose {eps_pct}% year on year in the {quarter} quarter.",
    "According to the {country} statistics office, retail sales rose {small_pct}% in {month}.",
    "Exchange data show trading volumes on the {index} broadly in line with the yearly average.",
    "Figures published by {cb} show household credit growing at a steady {pct}% a year.",
    "The audited annual report of {company} shows operating margins of about {eps_pct}%.",
    "Official employment figures for {month} show the unemployment rate in {country} unchanged.",
    "Data compiled by {firm} show that {sector} earnings estimates have been stable for three months.",
    "A filing with {regulator} shows that {company}'s largest shareholder did not change its stake.",
    "Survey data from {firm2} published on {weekday} show business confidence close to its long-run average.",
    "Customs data show exports from {country} to {country2} up {small_pct}% on the year.",
]

_UNSOURCED = [
    "Rumours circulating on social media suggest the problems could be larger, though nobody has offered proof.",
    "One trader, who asked not to be named, said he had \"heard things\" but could not say more.",
    "Posts on an online forum claim insiders knew weeks ago; none of the claims could be verified.",
    "It is unclear where the numbers being passed around on messaging apps originally came from.",
    "Several commentators online have made sweeping predictions without pointing to any data.",
    "A widely shared video claims to explain what is really going on, but cites no sources at all.",
]

_ACTIONS = [
    "Portfolio managers at {firm} said they had cut exposure to {sector} and raised cash holdings to {cash_pct}% of assets.",
    "{firm2} told clients to review holdings of {country}-denominated debt and shorten duration where possible.",
    "Several funds have hedged around {hedge_pct}% of their {currency} exposure through forward contracts.",
    "Advisers recommend that investors check counterparty exposure and set explicit loss limits on positions in {sector}.",
    "Pension funds in {country2} have started rebalancing out of {sector} into short-dated government bills.",
    "Analysts suggest investors reassess any position that depends on cheap refinancing over the next two years.",
    "Risk teams at several asset managers have lowered their limits for unsecured lending to {country} counterparties.",
    "Wealth managers are advising clients to spread deposits across institutions and to avoid concentrated bets on {sector}.",
]

# Concrete, non-defensive steps (rebalancing, buying, upgrades).
_ACTIONS_NEUTRAL = [
    "Advisers suggest investors rebalance portfolios back to their target weights.",
    "{firm2} raised its rating on {company} to buy and lifted its price target.",
    "Some managers said they would use any pullback to add to positions in {sector}.",
    "Analysts recommend that investors keep a diversified mix of assets and review fees annually.",
    "Income investors are being pointed toward companies with a long record of growing dividends, such as {company}.",
]

_NO_ACTION = [
    "It is too early to say what, if anything, investors should do differently.",
    "Analysts declined to draw conclusions for portfolios until more details emerge.",
    "What the news means for ordinary savers remains unclear.",
]

_HYPE_ATTRIB = [
    "the author writes.",
    "says the site's founder.",
    "one enthusiastic reader wrote.",
    "as one commenter put it.",
]

_QUOTE_ATTRIB = [
    "said {analyst}, {role} at {firm}.",
    "{analyst}, {role} at {firm}, said in a note to clients.",
    "according to {analyst}, {role} at {firm}.",
    "said {analyst2} of {firm2}.",
]

_MARKET_BACKGROUND = [
    "Elsewhere, the {index} closed {small_pct}% lower on {weekday} in thin trading, with {sector2} among the laggards.",
    "Government bond yields in {country2} were little changed, and the {currency2} traded in a narrow range.",
    "The broader economy in {country} grew modestly last year, helped by household spending and tourism.",
    "Investors are also watching quarterly results from {company}, due later this month.",
    "Analysts note that liquidity tends to be thinner in the weeks around {month}, which can exaggerate price moves.",
    "Commodity prices were mixed, with copper slightly firmer and agricultural futures easing.",
    "{company2} said separately that it would hold its annual investor day in {capital} next month.",
    "The finance ministry in {capital} is expected to present its mid-year budget review within weeks.",
    "Trading volumes on the {index} were roughly in line with their thirty-day average.",
    "Some strategists point out that similar episodes in the past have taken months to play out fully.",
    "Consumer confidence in {country2} edged higher in {month}, according to a private survey.",
    "The {currency} has traded in a wide band against the {currency2} over the past year.",
    "Property prices in {capital} have been broadly flat since last spring.",
    "Market participants will also look to employment figures due at the end of the month for clues.",
]

# Longer context sentences that pad out the longer reads without changing the story.
_CONTEXT = [
    "To understand why this matters, it helps to recall how much the economy of {country} has changed over the past {years} years, as services overtook manufacturing and households took on more debt.",
    "Economists often distinguish between shocks that hit confidence and shocks that hit balance sheets; the former can fade quickly, while the latter tend to linger for quarters or even years.",
    "The finance ministry in {capital} has repeatedly said that public debt is sustainable, pointing to a long average maturity and a domestic investor base that has historically been loyal.",
    "Foreign investors own a meaningful share of listed equities and government bonds in {country}, which means that shifts in global risk appetite can move local prices more than domestic news.",
    "Much of the commentary this week has focused on what happens next, and the honest answer from most of the people interviewed for this article was that it depends on decisions not yet taken.",
    "Historical comparisons are tempting but imperfect: the financial system in {country} is better capitalised than it was a generation ago, yet it is also more interconnected with markets abroad.",
    "For households, the most visible channels are mortgage rates, the price of imported goods and the value of pension savings, all of which respond to market moves with different lags.",
    "Companies in {sector2} have spent the past two years lengthening the maturity of their borrowing, a decision that now looks prudent, although not every firm was able to do so.",
    "The parliament in {capital} is due to debate the annual budget next month, and opposition parties have signalled that they will press the government on its economic strategy.",
    "A useful rule of thumb among market veterans is that liquidity is plentiful right up until the moment everyone needs it, which is why funding conditions are watched so closely.",
    "Data releases in the coming weeks, including retail sales, the purchasing managers' surveys and the labour-market report, will help to show whether the real economy is being affected.",
    "Trade links between {country} and {country2} are extensive, spanning energy, machinery and agricultural goods, so developments in one economy tend to show up quickly in the other.",
    "Several large pension and insurance funds in {country} are required by their mandates to hold mostly domestic assets, which limits how quickly they can react to changes in the outlook.",
    "The exchange in {capital} introduced circuit breakers some years ago, pausing trading when the {index} moves by more than a set percentage within a session.",
    "Analysts at {firm2} have published a long report on the structure of the market, arguing that the rise of passive investing has changed how quickly prices respond to news.",
    "Not everyone agrees on the interpretation: some argue the numbers reflect one-off factors such as weather and holidays, while others see the start of a more persistent trend.",
    "The role of ratings agencies has come under scrutiny again, with critics arguing that they tend to move after markets have already priced in the news.",
    "International bodies have urged governments in the region to build larger fiscal buffers, warning that the next downturn may arrive before the last one has been fully repaired.",
    "It is worth remembering that the {index} includes companies that earn a large share of their revenue abroad, so it is an imperfect gauge of the domestic economy.",
    "Productivity growth in {country} has been weak for most of the past decade, a problem that successive governments have promised, and so far failed, to fix.",
]

# --------------------------------------------------------------------------- #
# Scenarios
# --------------------------------------------------------------------------- #

# Ranges are (score at severity 0, score at severity 1) for the six weighted dims,
# in DIMENSIONS order: macro, credit, sentiment, valuation, policy, systemic.
_SCENARIOS: list[dict[str, Any]] = [
    {
        "name": "bank_failure", "weight": 7, "sev": (2.1, 1.7),
        "ranges": [(3, 9), (4, 10), (2, 7), (0, 3), (2, 6), (3, 10)],
        "sourcing": [0.04, 0.14, 0.42, 0.40], "action": [0.06, 0.16, 0.44, 0.34],
        "titles": [
            ["{bank} sells troubled loan book after deposit wobble", "Regulator steps in at small lender {bank}",
             "{bank} shares slide {drop_pct}% on funding worries"],
            ["{n_banks} lenders in {country} hit by deposit flight", "{bank} seized by regulators as depositors pull {outflow_pct}% of funds",
             "Banking jitters spread in {country} after {bank} failure"],
            ["{bank} collapses; contagion hits {n_banks} more {country} banks", "Bank run in {country}: {bank} fails with {loss_bn}bn in losses",
             "Emergency weekend rescue as {country}'s banking system buckles"],
        ],
        "ledes": [
            ["{bank}, a small lender based in {capital}, agreed to sell a portfolio of problem loans after customers withdrew about {outflow_pct}% of deposits in {month}. Supervisors described the situation as contained.",
             "Shares in {bank} fell {drop_pct}% this week after the lender disclosed higher-than-expected losses on commercial property loans. The bank said its liquidity position remains adequate."],
            ["{regulator} took control of {bank} on {weekday} after depositors withdrew {outflow_pct}% of their funds in a matter of days, making it the largest failure in {country} since {since_year}. {n_banks} other lenders have reported unusual outflows.",
             "The failure of {bank} has rattled the banking sector in {country}. Losses are estimated at {loss_bn} billion {currency}s, and {n_banks} regional lenders saw their shares fall by double digits."],
            ["{bank} collapsed on {weekday} after a run that drained {outflow_pct}% of its deposits, and contagion spread within hours: {n_banks} more banks in {country} have sought emergency liquidity. Losses are put at {loss_bn} billion {currency}s, the worst banking crisis since {since_year}.",
             "Authorities in {country} organised an emergency weekend rescue after {bank} failed with estimated losses of {loss_bn} billion {currency}s. Interbank lending froze, {n_banks} further lenders are under pressure, and officials warned of systemic consequences."],
        ],
        "details": [
            ["Most of the bank's customers are small businesses, and the majority of deposits are covered by the national guarantee scheme.",
             "The lender's exposure to the wider system is limited, according to people familiar with the supervisor's assessment."],
            ["Funding costs for mid-sized lenders have risen as investors question the quality of their property loan books.",
             "Uninsured depositors at {bank2} have also begun moving money, though the bank says outflows have slowed.",
             "The deposit guarantee fund in {country} holds enough to cover only part of the insured balances at the failed bank."],
            ["Interbank markets seized up as banks hoarded cash, and overnight lending rates spiked to multiples of the policy rate.",
             "Contagion fears have spread beyond {country}: shares of lenders in {country2} with similar balance sheets fell sharply.",
             "Queues formed outside branches of {bank2} in {capital} as customers tried to withdraw savings in cash.",
             "{cb} announced an emergency lending facility, but several banks are reported to lack sufficient collateral to use it."],
        ],
        "quotes": [
            ["This is an isolated case, not the start of a wave", "The numbers are uncomfortable but manageable"],
            ["The question now is which bank is next, and markets are not waiting for the answer", "Confidence is the only real asset a bank has, and it is eroding"],
            ["This is a full-blown systemic event; without a blanket guarantee the run will spread", "We are watching a textbook banking panic unfold in real time"],
        ],
        "actions": [
            "Depositors with balances above the guaranteed limit at {bank2} are being advised to split funds across institutions.",
            "Several funds said they had sold bonds issued by {country}'s mid-sized banks and moved into government bills.",
            "Corporate treasurers are moving deposits above the insured limit to larger institutions, according to two advisers.",
        ],
        "evidence": [
        "Figures published by {cb} on {weekday} show that commercial bank deposits fell by {outflow_pct}% over the month.",
        "A regulatory filing lodged with {regulator} puts the estimated losses at {loss_bn} billion {currency}s.",
        "The latest quarterly report from {regulator} lists {n_banks} institutions under enhanced supervision.",
        "Audited accounts filed by {bank} show capital ratios well below the level reported a year ago.",
        "Settlement data from the clearing house confirm margin calls of roughly {loss_bn} billion over three sessions.",
        ],
        "echoes": [
            "Memories of the {bank} failure still linger, although no lender is under pressure today.",
            "Unlike during the bank runs of {since_year}, deposits have remained stable this year.",
        ],
        "background": [
            "{bank} was founded more than a century ago as a cooperative savings institution and expanded rapidly into property lending over the past decade.",
            "The banking sector in {country} is dominated by four large groups, with dozens of smaller regional lenders competing for deposits.",
            "Deposit insurance in {country} covers balances up to a fixed limit per customer per institution.",
        ],
    },
    {
        "name": "currency_crisis", "weight": 6, "sev": (2.4, 1.7),
        "ranges": [(4, 10), (3, 8), (3, 8), (0, 3), (3, 7), (2, 8)],
        "sourcing": [0.05, 0.15, 0.42, 0.38], "action": [0.06, 0.18, 0.44, 0.32],
        "titles": [
            ["{currency} slips {fx_drop}% as {cb} holds fire", "{country}'s {currency} weakens on trade data",
             "Traders test {cb}'s resolve as the {currency} drifts lower"],
            ["{currency} plunges {fx_drop}%; {cb} burns through reserves", "{country} currency slide deepens as capital flees",
             "Investors flee {country} as the {currency} hits record low"],
            ["{currency} in free fall: {country} imposes capital controls", "Currency crisis engulfs {country} as {currency} loses {fx_drop}%",
             "Collapse of the {currency} sparks fears of sovereign default in {country}"],
        ],
        "ledes": [
            ["The {currency} fell {fx_drop}% against the dollar over the past week after weaker-than-expected trade figures, although {cb} said it saw no need to intervene.",
             "The {currency} drifted lower for a fifth session as investors priced in slower growth in {country}. Officials said the move was orderly."],
            ["The {currency} has lost {fx_drop}% of its value since {month}, and {cb} has spent {reserves_pct}% of its reserves trying to slow the decline. Capital is leaving {country} at the fastest pace since {since_year}.",
             "{country}'s currency slid another {fx_drop}% this week as foreign investors sold local bonds. Inflation has climbed to {inflation}% as import prices surge."],
            ["The {currency} collapsed by {fx_drop}% in a matter of days, forcing {country} to impose emergency capital controls. Reserves have fallen {reserves_pct}%, inflation is running at {inflation}%, and dollar-denominated borrowers face a wave of defaults.",
             "A full-blown currency crisis is under way in {country}: the {currency} has lost {fx_drop}% since {month}, {cb} raised rates by {rate_bp} basis points in an emergency meeting, and the government has asked for international support."],
        ],
        "details": [
            ["Exporters in {country} have welcomed the weaker currency, which makes their goods cheaper abroad.",
             "Forward markets imply only a modest further decline over the next six months."],
            ["Companies with foreign-currency debt are under growing pressure as repayments become more expensive in local terms.",
             "Importers report difficulty obtaining dollars, and some retailers have started raising prices weekly.",
             "Yields on {country}'s ten-year bonds jumped as foreign holders sold."],
            ["Banks in {country} have limited dollar withdrawals, and the black-market exchange rate is far weaker than the official one.",
             "Contagion has reached {country2}, whose {currency2} fell sharply as investors lumped the two economies together.",
             "Credit-default swaps on {country}'s sovereign debt imply a high probability of default within five years.",
             "Several large companies in {country} suspended payments on dollar bonds pending talks with creditors."],
        ],
        "quotes": [
            ["A weaker currency is part of the adjustment, not a crisis", "We would not read too much into a few bad sessions"],
            ["Reserves are finite, and the market can count", "The central bank is defending a level it cannot hold"],
            ["This is a classic balance-of-payments crisis and it will not end without outside help", "Capital controls buy time, but they destroy confidence"],
        ],
        "actions": [
            "Exporters are being advised to hedge receivables, while importers rush to lock in forward rates.",
            "Fund managers said they had cut holdings of {country}'s local-currency bonds and bought dollar protection.",
        ],
        "evidence": [
            "Data from {cb}'s balance sheet show foreign-exchange reserves down {reserves_pct}% this year.",
            "Official balance-of-payments figures show portfolio outflows from {country} at their highest since {since_year}.",
        ],
        "echoes": [
            "The {currency} has been stable for months, a far cry from the currency crisis of {since_year}.",
            "Talk of capital controls, common a few years ago, has disappeared from the debate in {capital}.",
        ],
        "background": [
            "{country} runs a persistent current-account deficit and relies on foreign portfolio inflows to finance it.",
            "The {currency} was pegged to a basket of currencies until a decade ago and now floats with occasional intervention.",
            "Tourism and commodity exports are {country}'s main sources of foreign currency.",
        ],
    },
    {
        "name": "central_bank_surprise", "weight": 8, "sev": (2.0, 1.8),
        "ranges": [(3, 8), (2, 6), (2, 6), (1, 4), (5, 10), (1, 5)],
        "sourcing": [0.04, 0.16, 0.45, 0.35], "action": [0.10, 0.28, 0.40, 0.22],
        "titles": [
            ["{cb} nudges rates up {rate_bp} basis points", "{cb} surprises with hawkish guidance",
             "Policy makers at {cb} signal longer pause"],
            ["{cb} stuns markets with {rate_bp} bp hike", "Surprise tightening from {cb} jolts bonds",
             "{cb} abandons guidance, raises rates by {rate_bp} bp"],
            ["Shock {rate_bp} bp emergency hike from {cb} sends markets reeling", "{cb} emergency move triggers bond rout in {country}",
             "Central bank panic? {cb} hikes {rate_bp} bp between meetings"],
        ],
        "ledes": [
            ["{cb} raised its policy rate by {rate_bp} basis points on {weekday}, slightly more than economists had expected, citing stubborn services inflation of {inflation}%.",
             "{cb} left rates unchanged but surprised investors by signalling that cuts are unlikely this year, sending two-year yields modestly higher."],
            ["{cb} raised its benchmark rate by {rate_bp} basis points, well above the consensus forecast, after inflation hit {inflation}%. The {index} fell {drop_pct}% and two-year yields posted their biggest daily jump since {since_year}.",
             "In a move almost no economist predicted, {cb} tightened policy by {rate_bp} basis points and warned that further increases may be needed. Mortgage rates in {country} are expected to rise quickly."],
            ["{cb} convened an unscheduled meeting and raised rates by {rate_bp} basis points, the largest move since {since_year}, as inflation reached {inflation}%. Bonds sold off violently, the {index} dropped {drop_pct}%, and economists now see a recession in {country} as likely.",
             "An emergency {rate_bp} basis-point rate increase by {cb} has thrown markets in {country} into turmoil. Mortgage lenders withdrew products overnight, and leveraged funds were hit by margin calls."],
        ],
        "details": [
            ["Most economists still expect growth in {country} to stay positive this year.",
             "Markets had already priced in part of the move, and the reaction faded by the close."],
            ["Variable-rate borrowers will see repayments rise within weeks, and housing activity is already slowing.",
             "The decision was taken by a narrow majority, with two members voting for a smaller increase.",
             "Analysts said the bank appeared to be prioritising its credibility over short-term growth."],
            ["Pension funds using leveraged bond strategies were forced to sell assets to meet collateral calls.",
             "Economists at {firm2} slashed their growth forecast for {country} and now expect output to shrink for several quarters.",
             "The government in {capital} distanced itself from the decision, raising questions about the central bank's independence."],
        ],
        "quotes": [
            ["A small surprise, but the direction of travel was clear", "They are fine-tuning, not slamming on the brakes"],
            ["The central bank has decided it would rather risk a recession than lose control of inflation", "Guidance is worth very little if it can be torn up like this"],
            ["This is a policy shock of the kind we have not seen in a generation", "They have effectively chosen a recession"],
        ],
        "actions": [
            "Mortgage brokers are urging borrowers to fix rates before lenders reprice further.",
            "Bond investors said they had shortened duration and reduced exposure to rate-sensitive {sector} stocks.",
        ],
        "evidence": [
            "The policy statement published by {cb} puts its own inflation forecast at {inflation}% for this year.",
            "Money-market pricing compiled by {firm} shows traders expect a further {rate_bp} basis points of tightening.",
        ],
        "echoes": [
            "{cb} left rates unchanged, and no one expects a surprise at the next meeting.",
            "The rate-hiking cycle that worried markets in {since_year} is now a distant memory.",
        ],
        "background": [
            "{cb} targets inflation of two percent over the medium term and meets eight times a year.",
            "The governor of {cb} was appointed last year after a career at the finance ministry.",
            "Forward guidance has been a central tool for {cb} since the last downturn.",
        ],
    },
    {
        "name": "geopolitical_shock", "weight": 7, "sev": (2.2, 1.7),
        "ranges": [(3, 9), (1, 6), (3, 8), (0, 3), (2, 6), (2, 8)],
        "sourcing": [0.06, 0.18, 0.42, 0.34], "action": [0.08, 0.22, 0.42, 0.28],
        "titles": [
            ["Tensions rise between {country} and {country2}", "Border dispute unsettles {country2} markets",
             "{country} recalls ambassador from {country2}"],
            ["{country} imposes sanctions on {country2}; oil jumps {oil_pct}%", "Shipping lanes disrupted as {country}-{country2} standoff escalates",
             "Markets slide as {country} and {country2} trade threats"],
            ["War between {country} and {country2} sends global markets tumbling", "Oil soars {oil_pct}% after {country} blockades key strait",
             "Armed conflict erupts on {country2} border; {index} plunges {drop_pct}%"],
        ],
        "ledes": [
            ["Relations between {country} and {country2} deteriorated this week after a dispute over fishing rights, though diplomats on both sides said talks would continue.",
             "{country} recalled its ambassador from {country2} in a row over a disputed election, a move analysts described as largely symbolic."],
            ["{country} announced sweeping sanctions on {country2}, including restrictions on energy exports, and oil prices rose {oil_pct}%. The {index} fell {drop_pct}% as investors priced in slower trade.",
             "Commercial shipping through the straits near {country2} has been disrupted for a second week, pushing freight rates and energy prices sharply higher."],
            ["Armed conflict broke out between {country} and {country2} on {weekday}, sending oil up {oil_pct}% and the {index} down {drop_pct}%, its worst day since {since_year}. Governments across the region have closed airspace and several ports.",
             "A military blockade by {country} has cut off a strait that carries a large share of the region's energy supply. Oil prices jumped {oil_pct}%, insurers suspended cover for ships in the area, and supply chains from {capital} to {country2} are in disarray."],
        ],
        "details": [
            ["Trade between the two countries is modest, which limits the economic fallout.",
             "Previous disputes of this kind have been resolved through mediation within weeks."],
            ["Manufacturers that rely on components from {country2} warned of delays and higher costs.",
             "Energy-importing economies are most exposed to a prolonged rise in fuel prices.",
             "Defence stocks rallied while airlines and {sector} sold off."],
            ["Several multinational companies have evacuated staff and halted production in the region.",
             "Economists warn that a prolonged conflict could push {country} and its neighbours into recession and reignite inflation.",
             "Banks with large loan books in {country2} fell sharply amid fears of asset freezes."],
        ],
        "quotes": [
            ["Markets have learned to look through this kind of noise", "It is a diplomatic spat, not an economic event"],
            ["Sanctions cut both ways, and energy prices are the transmission channel", "The risk premium is back"],
            ["This is the largest geopolitical shock to markets in years", "Nobody can price a war, so investors are simply selling"],
        ],
        "actions": [
            "Airlines and shippers are adding fuel surcharges, and several funds have increased energy hedges.",
            "Multinationals are drawing down credit lines and reviewing supplier exposure to {country2}.",
        ],
        "evidence": [
            "Port authority data show tanker traffic through the strait down sharply compared with last month.",
            "Official customs figures show imports from {country2} fell in {month} as sanctions began to bite.",
        ],
        "echoes": [
            "Despite talk of tensions between {country} and {country2}, shipping lanes remain open.",
            "Geopolitical risk, which dominated headlines in {since_year}, barely registers with investors today.",
        ],
        "background": [
            "{country} and {country2} signed a trade agreement a decade ago that has been renegotiated twice.",
            "The strait between the two countries is one of the busiest shipping routes in the region.",
            "{country2} is a major exporter of natural gas and fertiliser.",
        ],
    },
    {
        "name": "valuation_bubble", "evidence_tone": "neutral", "weight": 10, "sev": (2.4, 1.6),
        "ranges": [(1, 4), (1, 3), (4, 9), (5, 9), (0, 3), (1, 6)],
        "sourcing": [0.04, 0.14, 0.44, 0.38], "action": [0.06, 0.20, 0.46, 0.28],
        "titles": [
            ["{sector} stocks look a little stretched, analysts say", "{company} rally lifts valuations above average",
             "Is the {index} getting expensive?"],
            ["{sector} stocks trade at {pe} times earnings as rally roars on", "Froth builds in {country} as {company} soars {rally_pct}%",
             "Valuation warnings grow over {index} rally"],
            ["Bubble alert: {sector} valuations hit {pe} times earnings", "Mania grips {country} market; {company} up {rally_pct}% in months",
             "Dot-com redux? {index} valuations highest since {since_year}"],
        ],
        "ledes": [
            ["Shares in {company} have risen {rally_pct}% this year, taking the {sector} sector to {pe} times forward earnings, modestly above its long-run average.",
             "The {index} has climbed steadily, and some analysts say valuations in {sector} now leave less room for disappointment."],
            ["{sector} stocks in {country} now trade at {pe} times forward earnings after a {rally_pct}% rally, and retail trading volumes have doubled. Several strategists warn that prices have run well ahead of profits.",
             "The rally in {company}, up {rally_pct}% since {month}, has pushed the {index} to valuations last seen in {since_year}, with margin debt climbing steadily."],
            ["Valuations in {sector} have reached {pe} times earnings, the highest since {since_year}, after a {rally_pct}% surge driven by retail enthusiasm and record margin borrowing. Companies with no revenue have doubled in value on a single announcement.",
             "A speculative frenzy has gripped {country}'s stock market: {company} has soared {rally_pct}%, new listings are oversubscribed many times over, and the {index} trades at {pe} times earnings, a level that preceded the crash of {since_year}."],
        ],
        "details": [
            ["Earnings growth has been solid, which partly justifies the higher prices.",
             "Fund managers remain broadly overweight but say they are becoming more selective."],
            ["Margin debt on the {index} has reached a record, and call-option volumes have surged.",
             "Insiders at several {sector} companies have been selling shares into the rally.",
             "The gap between the earnings yield and bond yields is at its narrowest in years."],
            ["Brokerages report record account openings, many by first-time investors using borrowed money.",
             "Short sellers have largely given up, and the few bearish funds left report heavy losses.",
             "Stocks with any link to the latest technology theme are trading at more than fifty times sales."],
        ],
        "quotes": [
            ["Valuations are full, but not crazy", "It is expensive, but expensive markets can stay expensive"],
            ["Prices are discounting perfection", "We are being paid very little to take equity risk here"],
            ["This has every hallmark of a bubble", "When the taxi driver asks you which stock to buy, it is time to worry"],
        ],
        "actions": [
            "Several managers said they were trimming winners in {sector} and buying put protection on the {index}.",
            "Advisers recommend rebalancing portfolios back to target weights after the rally.",
        ],
        "evidence": [
            "Exchange data compiled by {firm} show margin debt at a record and the {index} at {pe} times trailing earnings.",
            "Filings with {regulator} show insiders at {sector} companies sold shares worth {debt_bn} billion {currency}s this quarter.",
        ],
        "echoes": [
            "Valuations are not stretched by historical standards, whatever the talk of a bubble.",
            "Nobody is calling {sector} a bubble any more; prices have come back to earth.",
        ],
        "background": [
            "The {index} is heavily weighted toward a handful of large {sector} companies.",
            "Retail investors in {country} have embraced commission-free trading apps over the past three years.",
            "{company} listed on the exchange in {capital} five years ago.",
        ],
    },
    {
        "name": "credit_stress", "weight": 7, "sev": (2.1, 1.7),
        "ranges": [(2, 7), (4, 10), (2, 6), (1, 4), (1, 4), (1, 7)],
        "sourcing": [0.04, 0.14, 0.42, 0.40], "action": [0.06, 0.16, 0.46, 0.32],
        "titles": [
            ["{company} bonds slip after rating outlook cut", "High-yield spreads widen modestly in {country}",
             "{company} delays bond sale as investors demand higher yield"],
            ["Spreads blow out to {spread_bp} bp as defaults climb in {country}", "{company} misses coupon payment; {sector} bonds slide",
             "Credit markets in {country} tighten as default rate hits {default_rate}%"],
            ["Credit crunch: {n_firms} {country} firms default in a month", "{company} files for bankruptcy with {debt_bn}bn of debt; contagion hits {sector}",
             "Junk bond market freezes as spreads hit {spread_bp} bp"],
        ],
        "ledes": [
            ["A ratings agency lowered its outlook on {company} to negative, and the company's bonds fell slightly. Spreads on high-yield debt in {country} widened to {spread_bp} basis points.",
             "{company} postponed a planned bond sale after investors asked for a higher yield than expected, a sign that credit markets are becoming more selective."],
            ["{company} failed to make a coupon payment on {weekday}, and high-yield spreads in {country} widened to {spread_bp} basis points. The default rate has risen to {default_rate}%, the highest since {since_year}.",
             "Credit conditions in {country} are tightening: spreads on {sector} bonds have jumped to {spread_bp} basis points, and {n_firms} companies have breached loan covenants this year."],
            ["{company} filed for bankruptcy protection with {debt_bn} billion in debt, the largest corporate default in {country} since {since_year}. High-yield spreads spiked to {spread_bp} basis points, the new-issue market has frozen, and {n_firms} firms defaulted in {month} alone.",
             "A credit crunch is spreading through {country}: the default rate has reached {default_rate}%, spreads are at {spread_bp} basis points, and banks have stopped rolling over loans to all but their safest borrowers."],
        ],
        "details": [
            ["Most companies in the sector have no large maturities until next year.",
             "Investment-grade markets remain open, and issuance has been steady."],
            ["Leveraged-loan prices have fallen, and collateralised loan obligations are nearing their limits on low-rated holdings.",
             "Private-credit funds have started marking down loans to {sector} borrowers.",
             "Refinancing costs for mid-sized companies have roughly doubled since last year."],
            ["Banks face losses on loans to {sector} borrowers, and several lenders' shares fell sharply.",
             "Funds holding high-yield debt have faced redemption requests they can meet only by selling into a falling market.",
             "The wave of defaults is feeding back into the economy as suppliers go unpaid and layoffs mount."],
        ],
        "quotes": [
            ["This is repricing, not distress", "Spreads were too tight, and this is a healthy correction"],
            ["The default cycle has started and it is not going to be short", "Weak borrowers are being found out"],
            ["The credit market is shut for anyone below investment grade", "This looks like the start of a full credit crunch"],
        ],
        "actions": [
            "Credit funds said they were moving up in quality and selling bonds of issuers with maturities due within two years.",
            "Lenders are tightening covenants and demanding more collateral from {sector} borrowers.",
            "Credit desks have started buying default protection on {sector} issuers, according to dealers.",
        ],
        "evidence": [
        "Court records reviewed for this article show {n_firms} companies filed for insolvency protection in {month}.",
        "The ratings agency's report, released on {weekday}, cites {debt_bn} billion in debt maturing within eighteen months.",
            "Loan-level data published by {cb} show the share of non-performing corporate loans at {default_rate}%.",
        ],
        "echoes": [
            "Credit spreads remain tight and defaults are rare, despite earlier fears of a credit crunch.",
            "Talk of a default wave has faded as companies refinanced early.",
        ],
        "background": [
            "{company} borrowed heavily to fund acquisitions when interest rates were close to zero.",
            "The high-yield market in {country} has grown rapidly over the past decade, driven by private-equity buyouts.",
            "Ratings agencies typically review outlooks on {sector} issuers twice a year.",
        ],
    },
    {
        "name": "regulatory_crackdown", "tone": "neutral", "weight": 7, "sev": (2.0, 1.8),
        "ranges": [(1, 6), (1, 4), (1, 5), (1, 4), (5, 10), (0, 4)],
        "sourcing": [0.05, 0.18, 0.45, 0.32], "action": [0.10, 0.30, 0.40, 0.20],
        "titles": [
            ["{regulator} consults on new rules for {sector}", "{company} fined {fine_bn}bn over reporting failures",
             "Tighter disclosure rules proposed for {sector}"],
            ["{regulator} launches sweeping probe into {sector}", "{company} hit with {fine_bn}bn fine as crackdown widens",
             "New capital rules to squeeze {sector} profits"],
            ["{country} bans foreign ownership in {sector}; shares crash {drop_pct}%", "Crackdown: {regulator} orders break-up of {company}",
             "Regulatory storm wipes billions off {sector} stocks"],
        ],
        "ledes": [
            ["{regulator} opened a consultation on stricter disclosure rules for {sector}, with any changes not expected to take effect before next year.",
             "{company} agreed to pay a fine of {fine_bn} billion {currency}s to settle allegations that it misreported customer complaints."],
            ["{regulator} launched an industry-wide investigation into pricing practices in {sector}, and shares of the largest companies fell {drop_pct}%. {company} has already been fined {fine_bn} billion {currency}s.",
             "Proposed capital requirements would force {sector} companies in {country} to hold significantly more reserves, cutting their returns and possibly their dividends."],
            ["{country} announced a ban on foreign ownership of {sector} companies, effective immediately, and {sector} shares crashed {drop_pct}%. {regulator} also ordered the break-up of {company}, the sector's largest player.",
             "A sweeping regulatory crackdown has wiped billions off the value of {sector} stocks in {country}: licences have been suspended, fines of {fine_bn} billion {currency}s imposed, and new rules will take effect within weeks."],
        ],
        "details": [
            ["Industry groups said they would engage constructively with the consultation.",
             "The fine is small relative to {company}'s annual profit."],
            ["Lawyers expect the probe to take at least a year, during which deals in the sector are likely to stall.",
             "Foreign investors hold roughly a third of the sector's listed shares.",
             "Smaller companies warned they might have to raise capital to meet the new requirements."],
            ["Foreign funds are likely to be forced sellers of billions of {currency}s of shares.",
             "The crackdown has raised broader questions about the rule of law and property rights in {country}.",
             "Credit ratings of several {sector} companies were placed on review for downgrade."],
        ],
        "quotes": [
            ["This is incremental tightening, not a change of regime", "The rules are sensible and largely expected"],
            ["The regulatory risk premium for this sector just went up", "Investors underestimated how determined the authorities are"],
            ["This changes the investment case for the whole sector overnight", "Policy risk has become the dominant driver of returns"],
        ],
        "actions": [
            "Foreign funds said they were reducing holdings of {sector} stocks in {country} ahead of the rule change.",
            "Compliance teams are reviewing contracts, and investors are demanding a higher discount for the sector.",
        ],
        "evidence": [
            "Official records show {regulator} has opened {n_firms} enforcement cases against {sector} companies this year.",
            "The rule text published on the {regulator} website sets out the new requirements and the timetable in detail.",
            "The penalty notice published by {regulator} puts the fine on {company} at {fine_bn} billion {currency}s.",
        ],
        "echoes": [
            "Regulators have shown little appetite for a crackdown on {sector} this year.",
            "The threat of new rules, much discussed in {since_year}, never materialised.",
        ],
        "background": [
            "{regulator} was given broader powers in a reform passed three years ago.",
            "{sector} companies in {country} have lobbied for lighter rules since the last election.",
            "{company} has operated in {country} for more than two decades.",
        ],
    },
    {
        "name": "calm_markets", "tone": "neutral", "weight": 12, "sev": (1.5, 1.5),
        "ranges": [(0, 3), (0, 3), (1, 4), (2, 5), (0, 3), (0, 2)],
        "sourcing": [0.10, 0.30, 0.40, 0.20], "action": [0.35, 0.40, 0.20, 0.05],
        "titles": [
            ["{company} results in line with forecasts", "{index} edges {small_pct}% higher in quiet trade",
             "{company} keeps guidance unchanged after steady quarter"],
            ["{company} beats estimates as margins improve", "{index} little changed as investors await data",
             "Steady quarter for {company}; dividend raised"],
            ["{company} profit up {eps_pct}%, shares rise", "Markets drift as {country} data meet expectations",
             "{company} trims outlook slightly, shares ease"],
        ],
        "ledes": [
            ["{company} reported {quarter}-quarter earnings broadly in line with analysts' forecasts and left its full-year guidance unchanged. The shares ended the day little changed.",
             "The {index} rose {small_pct}% in quiet trading on {weekday}, as investors awaited inflation figures due next week."],
            ["{company} said {quarter}-quarter profit rose {eps_pct}% on steady demand for its products, slightly ahead of estimates, and raised its dividend. Management described the outlook as stable.",
             "Stocks in {country} drifted in a narrow range this week, with the {index} ending {small_pct}% higher amid low volatility."],
            ["{company} trimmed its full-year revenue guidance slightly, citing softer demand in {country2}, and its shares eased {small_pct}%. Analysts said the change was modest.",
             "Markets in {country} had an uneventful week, with the {index} ending down {small_pct}% and volatility near its lowest level of the year."],
        ],
        "details": [
            ["Revenue rose {eps_pct}%, helped by price increases and stable costs.",
             "The company repeated its plan to open new facilities in {country2} next year.",
             "Trading volumes were below average, as is typical at this time of year."],
            ["Operating margins improved slightly as input costs eased.",
             "The board approved a modest share buyback.",
             "Bond yields were little changed and the {currency} was steady."],
            ["Management pointed to a strong order book for the second half.",
             "Analysts kept their price targets broadly unchanged.",
             "The company's balance sheet remains conservatively financed."],
        ],
        "quotes": [
            ["It was a clean, unspectacular quarter", "There was nothing in the numbers to change our view"],
            ["Steady execution in a steady market", "The guidance looks achievable"],
            ["A small trim, but nothing alarming", "Investors are in wait-and-see mode"],
        ],
        "actions": [
            "Some analysts moved their rating on {company} from hold to buy after the results.",
        ],
        "evidence": [
            "The company's results statement, filed with the exchange on {weekday}, shows free cash flow covering the dividend twice over.",
        ],
        "echoes": [
            "Markets have been calm, with few surprises from quarterly results.",
            "Ordinary earnings season fare dominated the week.",
        ],
        "background": [
            "{company} employs several thousand people and sells mainly to businesses in {country} and {country2}.",
            "The company has paid a dividend every year for more than a decade.",
            "{company} is one of the larger constituents of the {index}.",
            "The {index} has gained modestly this year in line with corporate earnings.",
        ],
    },
    {
        "name": "bullish_entry_point", "tone": "neutral", "weight": 10, "sev": (3.0, 1.3),
        "ranges": [(1, 4), (0, 3), (5, 10), (3, 0), (0, 2), (0, 2)],
        "sourcing": [0.02, 0.08, 0.35, 0.55], "action": [0.03, 0.12, 0.45, 0.40],
        "titles": [
            ["Sentiment sours on {sector}, but valuations only modestly cheap", "Investors cautious on {index} despite lower prices",
             "Fund managers trim {sector} as mood dips"],
            ["Fear grips {country} stocks; valuations at {cheap_pe} times earnings", "Contrarians eye {sector} as pessimism deepens",
             "Bearish sentiment hits {bearish_pct}%: is it time to buy {country}?"],
            ["Capitulation: {country} stocks at {cheap_pe} times earnings, cheapest since {since_year}", "Peak pessimism in {sector} creates rare entry point",
             "Maximum fear: {bearish_pct}% of managers bearish as valuations hit decade lows"],
        ],
        "ledes": [
            ["Investor sentiment toward {sector} has cooled after a weak quarter, and valuations have slipped to {cheap_pe} times earnings, slightly below their long-run average.",
             "Fund managers have trimmed holdings in the {index}, though surveys show sentiment is only mildly negative."],
            ["Pessimism about {country} stocks has deepened, with {bearish_pct}% of fund managers now bearish and the fear index at {fear_idx}. Yet the {index} trades at just {cheap_pe} times earnings, and balance sheets remain strong.",
             "{sector} shares have fallen out of favour, leaving them at {cheap_pe} times earnings even though profits have held up. Several value investors see an attractive entry point."],
            ["Sentiment toward {country} equities has reached capitulation levels: {bearish_pct}% of fund managers are bearish, the fear index has hit {fear_idx}, and outflows are the largest since {since_year}. Meanwhile the {index} trades at {cheap_pe} times earnings with dividend yields near record highs.",
             "Extreme fear has pushed {sector} valuations to {cheap_pe} times earnings, the cheapest since {since_year}, even though companies in the sector carry little debt and earnings are stable. Historically, such extremes have been good entry points."],
        ],
        "details": [
            ["Earnings estimates for the sector have been cut slightly, but remain positive.",
             "Dividend yields are close to their historical average."],
            ["Companies in the sector are buying back shares at the fastest pace in years, and insiders have been net buyers.",
             "Net cash on balance sheets covers a large share of market value for several companies.",
             "Short interest has climbed, which could fuel a rebound if news improves."],
            ["Past episodes of similarly extreme pessimism were followed by double-digit returns over the next year in most cases.",
             "Fund flows data show retail investors have sold for {years} consecutive weeks.",
             "Credit markets show no sign of stress, suggesting the gloom is about sentiment rather than fundamentals."],
        ],
        "quotes": [
            ["Cheaper, but not yet cheap", "Sentiment is soft, but it is not at an extreme"],
            ["When everyone is this gloomy, the bar for positive surprises is low", "Valuations now compensate for a lot of bad news"],
            ["This is what capitulation looks like, and it is usually a good time to buy", "Be greedy when others are fearful"],
        ],
        "actions": [
            "Several value funds said they were adding to positions in {sector} and phasing purchases over several months.",
            "Advisers suggest long-term investors rebalance toward {country} equities using regular monthly purchases.",
        ],
        "evidence": [
            "Data compiled by {firm} show the {index} at {cheap_pe} times forward earnings, against a twenty-year average of about fifteen.",
            "The latest fund-manager survey from {firm2} puts the share of bearish respondents at {bearish_pct}%.",
            "Fund-flow figures from the exchange show {years} straight weeks of net retail selling.",
        ],
        "echoes": [
            "Some contrarians argue this is a good entry point, though sentiment is far from extreme.",
            "Bargain hunters have so far stayed on the sidelines.",
        ],
        "background": [
            "{sector} companies in {country} generate most of their revenue domestically.",
            "The {index} has underperformed global markets for three years.",
            "Dividend payouts in the sector have been raised every year since {since_year}.",
        ],
    },
    {
        "name": "stock_tip", "weight": 6, "sev": (1.5, 1.5), "cap": "zero_signals",
        "ranges": [(0, 0)] * 6, "evidence_override": (0, 3), "action_override": (3, 8),
        "sourcing": [1, 0, 0, 0], "action": [0.2, 0.4, 0.3, 0.1], "finance": False,
        "titles": [
            ["This under-the-radar stock could soar {hype_pct}%", "{ticker}: the penny stock insiders are buying",
             "Why {company} is my top pick for 2026"],
            ["3 stocks to buy before the crash", "{company} ({ticker}) is about to explode, here's why",
             "Get in early: {ticker} at {price} could be the next ten-bagger"],
            ["Last chance to buy {ticker} under {price}!", "My {hype_pct}% stock pick for this year",
             "Forget bank stocks, this tiny company is the real opportunity"],
        ],
        "ledes": [
            ["Everyone is talking about {company}, and for good reason. At just {price} a share, {ticker} could soar {hype_pct}% once the market wakes up to its potential.",
             "I have found what I believe is the most undervalued stock on the market: {company} ({ticker}). Buy it before the big funds do."],
            ["{company} ({ticker}) is about to explode. My sources say a major announcement is coming, and the shares could rise {hype_pct}% from {price}.",
             "Forget the banks and the currency headlines. The real money this year will be made in tiny companies like {company}, which trades at {price}."],
            ["This is your last chance to buy {ticker} below {price}. When the news breaks, it will be too late, and I expect a {hype_pct}% gain within weeks.",
             "I have put my own money into {company} and I am telling you why you should too. This stock could turn every thousand into ten thousand."],
        ],
        "details": [
            ["The chart is forming a perfect breakout pattern, which always comes before a big move.",
             "Insiders on a private forum say a takeover offer is on the table.",
             "Short sellers are trapped, and a squeeze could send the price vertical."],
            ["The company's new product will disrupt a trillion-dollar industry.",
             "Smart money is quietly accumulating shares, according to my sources.",
             "Even if the market crashes, this stock will keep going up."],
            ["Volume has tripled this week, which tells you someone knows something.",
             "I have been right about stocks like this before and I am confident again.",
             "Big institutional buyers cannot get in because the company is too small, which is your advantage."],
        ],
        "quotes": [
            ["This is the opportunity of the decade"], ["You will kick yourself if you miss this one"], ["Trust me, this one is different"],
        ],
        "actions": [
            "Buy {ticker} now, before the announcement, and hold for the big move.",
            "Put a small part of your savings into {company} today and set an alert at {price}.",
            "Don't wait for the dip; load up on {ticker} this week.",
            "Sign up to my newsletter to get the next pick before anyone else.",
        ],
        "unsourced": [
            "My sources, who I cannot name, are very confident.",
            "Trust me on this; I have a feeling about this one.",
            "A friend in the industry tipped me off.",
        ],
        "echoes": [
            "Some bloggers claim this stock will soar, but offer no evidence.",
        ],
        "background": [
            "{company} was founded three years ago and has yet to report a profit.",
            "The stock trades on an over-the-counter market with limited disclosure requirements.",
            "The company's chief executive is active on social media and has a large following.",
        ],
    },
    {
        "name": "clickbait", "weight": 5, "sev": (1.6, 1.4), "cap": "clickbait",
        "ranges": [(1, 6), (0, 5), (2, 8), (0, 5), (0, 4), (1, 6)],
        "evidence_override": (0, 3), "action_override": (0, 4),
        "sourcing": [0.7, 0.3, 0, 0], "action": [0.5, 0.4, 0.1, 0], "finance": False,
        "titles": [
            ["You won't believe what is happening to the {currency}", "Experts are terrified of what comes next for {country}",
             "The bank crisis nobody is talking about"],
            ["This one chart proves the crash is coming", "Economists HATE this simple prediction",
             "Is your bank next? The shocking truth about {bank}"],
            ["The collapse has begun: what they don't want you to know", "EVERYTHING is about to crash (here's why)",
             "Shocking: {country}'s economy will collapse in weeks, insider warns"],
        ],
        "ledes": [
            ["Something strange is happening to the {currency}, and the experts are not telling you. Here is what you need to know before it is too late.",
             "Everyone is asking the same question: is the economy of {country} about to fall apart? The answer might surprise you."],
            ["There is one chart that the mainstream media refuses to show you, and once you see it you will never look at the {index} the same way again.",
             "Is your money safe at {bank}? What we found will shock you, and it might make you rethink where you keep your savings."],
            ["The collapse has already begun. Banks, currencies, the {index}: it is all about to come crashing down, and almost nobody is prepared.",
             "An insider has revealed what could be the biggest financial disaster in history, and it is coming to {country} within weeks."],
        ],
        "details": [
            ["Number three on our list will surprise you.",
             "Scroll down to see the image that has everyone talking."],
            ["The signs have been there all along if you know where to look.",
             "Some people are already moving their money, and you should ask yourself why."],
            ["History shows that every crash starts exactly like this.",
             "The elites have already got out; the rest of us are left holding the bag.",
             "Some say it will be worse than anything we have ever seen."],
        ],
        "quotes": [
            ["You have been warned"], ["Nobody is prepared for what is coming"], ["This is the big one"],
        ],
        "actions": [
            "Share this article before it gets taken down.",
            "Click here to find out the one thing you must do now.",
            "Watch the full video to learn how to protect yourself.",
        ],
        "unsourced": [
            "According to an anonymous insider, the real numbers are being hidden.",
            "Experts agree, though none were willing to be named.",
            "A viral post claims the figures were covered up.",
        ],
        "echoes": [
            "Viral posts claiming a crash is imminent have circulated again this week.",
        ],
        "background": [
            "Our team has been following this story closely, so keep checking back for updates.",
            "Thousands of readers have already shared this story.",
            "Subscribe to get more stories like this delivered to your inbox.",
        ],
    },
    {
        "name": "affiliate_promotion", "weight": 4, "sev": (1.5, 1.5), "cap": "zero_signals",
        "ranges": [(0, 0)] * 6, "evidence_override": (0, 3), "action_override": (1, 4),
        "sourcing": [1, 0, 0, 0], "action": [0.3, 0.5, 0.2, 0], "finance": False,
        "titles": [
            ["The best trading app of 2026 (and a {discount}% discount)", "Our favourite budgeting tool is on sale",
             "Review: the premium market newsletter worth every penny"],
            ["Protect your savings with this gold account (sponsored)", "{discount}% off the course that teaches you to trade like a pro",
             "The credit card with the best rewards right now"],
            ["Crisis-proof your wallet: the tools we use", "Exclusive offer: premium stock screener for {fee} a month",
             "Top 5 brokers for beginners, ranked"],
        ],
        "ledes": [
            ["Looking for a better way to invest? We tested a dozen apps, and {company}'s platform came out on top. Readers can currently get {discount}% off the first year.",
             "This post contains affiliate links. If you sign up through them we may earn a commission, at no extra cost to you."],
            ["Worried about inflation and bank troubles? A gold savings account from {company} lets you buy fractions of an ounce from your phone, and new customers get a {discount}% bonus.",
             "{company}'s trading course promises to teach you to read charts like a professional. For a limited time it costs {fee} a month."],
            ["Markets may be volatile, but your personal finances don't have to be. These are the tools we use every day, and several come with exclusive reader discounts.",
             "We ranked the five best brokers for beginners based on fees, ease of use and customer service. Our top pick offers free trades and a {discount}% discount on premium data."],
        ],
        "details": [
            ["Setup takes less than five minutes and there are no hidden fees.",
             "The interface is clean and easy to use, even for complete beginners."],
            ["Customer support is available around the clock by chat.",
             "The premium tier adds real-time alerts and advanced charts."],
            ["Readers who signed up last month told us they love it.",
             "The free trial lasts fourteen days, and you can cancel at any time."],
        ],
        "quotes": [
            ["It changed the way I manage my money"], ["Honestly the best purchase I made this year"], ["Five stars, would recommend"],
        ],
        "actions": [
            "Use the code READER{discount} at checkout to claim your discount.",
            "Click the link below to start your free trial today.",
            "Sign up before the end of {month} to lock in the lower price.",
        ],
        "unsourced": [
            "Users say it is the best app they have ever tried.",
            "It is rated highly by thousands of happy customers.",
        ],
        "echoes": [
            "Some sites use these headlines mainly to sell trading courses.",
        ],
        "background": [
            "Prices were correct at the time of publication but may change.",
            "We independently review every product we recommend.",
            "This article is updated regularly with the latest offers.",
        ],
    },
]

# Unrelated news: stories (title, lede, own details) grouped by topic, one category.
_UNRELATED_TOPICS: list[dict[str, Any]] = [
    {   # sports
        "stories": [
            ("{team} beat {team2} {score1}-{score2} in derby",
             "{team} beat {team2} {score1}-{score2} on {weekday} night in front of {attendance} fans, with {player} scoring in the {minute}th minute.",
             ["The visitors had the better of the first half but could not convert their chances.",
              "The result leaves {team2} three points adrift of the playoff places."]),
            ("{player} scores late winner for {team}",
             "{player} came off the bench to score the winner for {team} against {team2}, lifting the club into the top four.",
             ["{player} has now scored in four consecutive matches.",
              "The manager praised the squad's fitness after a congested run of fixtures."]),
            ("{team} sack manager after poor run",
             "{team} have parted ways with their manager after a run of five games without a win, the club said on {weekday}.",
             ["The club's board said it would appoint a successor before the transfer window opens.",
              "A former captain will take charge of training in the meantime."]),
            ("Record crowd of {attendance} watches {team} cup win",
             "A record crowd of {attendance} saw {team} lift the cup after beating {team2} {score1}-{score2} in {capital}.",
             ["Celebrations in the city centre went on late into the night.",
              "It is the club's first trophy in more than a decade."]),
        ],
        "shared": ["Supporters sang throughout the second half despite heavy rain.",
                   "The crash of the goalkeeper into the post left him needing treatment for several minutes.",
                   "Ticket prices at the stadium will rise slightly next season, the club confirmed.",
                   "The league's broadcasters said viewing figures were the highest of the season.",
                   "Both sides now turn their attention to midweek fixtures."],
    },
    {   # weather
        "stories": [
            ("Heatwave: temperatures to reach {temp}C in {capital}",
             "Forecasters expect temperatures in {capital} to reach {temp}C this weekend, and residents are advised to stay hydrated.",
             ["Local councils opened cooling centres in libraries and community halls.",
              "Gardeners are being asked to avoid using hosepipes during the afternoon."]),
            ("Storm brings {rain_mm}mm of rain to {country}",
             "A storm brought up to {rain_mm}mm of rain to parts of {country} overnight, flooding roads and delaying trains.",
             ["Ferry services were cancelled for the day as a precaution.",
              "Farmers welcomed the rain after a dry spring."]),
            ("Weekend forecast: sunshine returns to {country2}",
             "After a wet week, sunshine is expected to return to most of {country2} by Saturday, the national weather service said.",
             ["Beaches and parks are expected to be busy.",
              "Overnight temperatures will stay mild."]),
            ("Flood warnings issued as rivers rise in {country}",
             "Flood warnings are in place for several river valleys in {country} after {rain_mm}mm of rain fell in two days.",
             ["Volunteers filled sandbags outside homes near the river banks.",
              "Some schools closed early to let pupils get home safely."]),
        ],
        "shared": ["Several outdoor events have been moved to the evening.",
                   "The weather service said the system would move east by Monday.",
                   "A currency of jokes about the weather has spread across social media.",
                   "Forecasters expect more typical conditions by the end of the month."],
    },
    {   # culture
        "stories": [
            ("{capital} film festival opens with local drama",
             "The annual film festival in {capital} opened on {weekday} with a drama about three generations of a fishing family.",
             ["Tickets for the closing night sold out within an hour.",
              "The director said the story was inspired by her grandmother.",
              "One character, a failed banker, provides the film's comic relief."]),
            ("Museum in {capital} unveils restored mural",
             "A museum in {capital} has unveiled a mural restored over four years by a team of specialists.",
             ["The restoration was funded by private donors and a city grant.",
              "The exhibition runs until the end of {month}."]),
            ("Review: a bold new staging of a classic opera",
             "The national opera of {country} has opened its season with a bold, stripped-back staging of a nineteenth-century classic.",
             ["Critics praised the lead performance as restrained and moving.",
              "The orchestra, conducted by a rising young star, was in fine form."]),
            ("Novelist wins {country}'s top literary prize",
             "A debut novelist from {country2} has won {country}'s most prestigious literary prize for a book about a small mountain village.",
             ["The novel's themes of family and memory resonated with judges.",
              "Sales of the book have tripled since the shortlist was announced."]),
        ],
        "shared": ["The event attracted visitors from across the region.",
                   "Organisers said attendance was up on last year.",
                   "A programme of talks and workshops runs alongside the main events."],
    },
]

_UNRELATED = {
    "name": "unrelated_news", "weight": 6, "sev": (1.5, 1.5), "cap": "unrelated",
    "ranges": [(0, 2)] * 6, "evidence_override": (0, 2), "action_override": (0, 2),
    "sourcing": [1, 0, 0, 0], "action": [1, 0, 0, 0], "finance": False,
}

#: Scenario (category) names, in a stable order.
SCENARIOS = tuple([sc["name"] for sc in _SCENARIOS] + [_UNRELATED["name"]])

_ALL_SPECS = _SCENARIOS + [_UNRELATED]
_WEIGHTS = [sc["weight"] for sc in _ALL_SPECS]

# Sentences that mention other scenarios' vocabulary without changing the score.
_ECHOES = [(sc["name"], e) for sc in _SCENARIOS for e in sc["echoes"]]


# --------------------------------------------------------------------------- #
# Composition
# --------------------------------------------------------------------------- #

_SENTENCE_START = re.compile(r'(^|[.!?]"?\s+|^")([a-z])')


def _tidy(text: str) -> str:
    """Fix articles around names that carry their own "the" (central banks, regulators)."""
    text = text.replace("the the ", "the ").replace("The the ", "The ")
    return _SENTENCE_START.sub(lambda m: m.group(1) + m.group(2).upper(), text)


def _fill(template: str, ctx: dict[str, str]) -> str:
    return _tidy(template.format_map(ctx))


def _level(sev: float) -> int:
    return 0 if sev < 0.34 else (1 if sev < 0.67 else 2)


def _weighted_index(rng: random.Random, weights: list[float]) -> int:
    return rng.choices(range(len(weights)), weights=weights, k=1)[0]


def _target_words(rng: random.Random) -> int:
    r = rng.random()
    if r < 0.07:
        return rng.randint(540, 600)  # a few long reads
    if r < 0.25:
        return rng.randint(60, 130)
    return int(rng.triangular(110, 450, 220))


def _word_count(parts: Iterable[str]) -> int:
    return sum(len(p.split()) for p in parts)


def _quote(rng: random.Random, text: str, ctx: dict[str, str], finance: bool = True) -> str:
    attrib = _fill(rng.choice(_QUOTE_ATTRIB if finance else _HYPE_ATTRIB), ctx)
    return f"\"{text},\" {attrib}"


def _compose(rng: random.Random, spec: dict[str, Any], sev: float, sourcing: int, action: int,
             ctx: dict[str, str]) -> tuple[str, str]:
    """Return (title, content) for one article."""
    lvl = _level(sev)
    finance = spec.get("finance", True)
    if spec["name"] == "unrelated_news":
        topic = rng.choice(_UNRELATED_TOPICS)
        t_title, t_lede, t_details = rng.choice(topic["stories"])
        title, lede = _fill(t_title, ctx), _fill(t_lede, ctx)
        core: list[str] = []
        optional = [_fill(d, ctx) for d in t_details + topic["shared"]]
        optional += [_fill(b, ctx) for b in rng.sample(_MARKET_BACKGROUND, 2)] if rng.random() < 0.25 else []
    else:
        title = _fill(rng.choice(spec["titles"][lvl]), ctx)
        lede = _fill(rng.choice(spec["ledes"][lvl]), ctx)
        core = []
        # evidence: `sourcing` data-citing sentences, or hearsay when there is none
        if finance:
            neutral = spec.get("tone") == "neutral" or spec.get("evidence_tone") == "neutral"
            ev_pool = list(spec.get("evidence", [])) + (_EVIDENCE_NEUTRAL if neutral else _EVIDENCE)
            core += [_fill(t, ctx) for t in rng.sample(ev_pool, sourcing)]
            if sourcing == 0:
                core.append(_fill(rng.choice(_UNSOURCED), ctx))
        else:
            core.append(_fill(rng.choice(spec.get("unsourced", _UNSOURCED)), ctx))
            if sourcing:  # clickbait that waves at "data"
                core.append(_fill(rng.choice(_UNSOURCED), ctx))
        # actions: `action` concrete steps, or an explicit "nothing to do" line
        generic = (_ACTIONS_NEUTRAL if spec.get("tone") == "neutral" else _ACTIONS) if finance else []
        pool = list(spec["actions"]) + generic
        core += [_fill(t, ctx) for t in rng.sample(pool, min(action, len(pool)))]
        if action == 0 and finance and rng.random() < 0.7:
            core.append(_fill(rng.choice(_NO_ACTION), ctx))
        optional = [_fill(d, ctx) for d in spec["details"][lvl]]
        optional += [_quote(rng, q, ctx, finance) for q in rng.sample(spec["quotes"][lvl], min(2, len(spec["quotes"][lvl])))]
        optional += [_fill(b, ctx) for b in spec["background"]]
        if finance or rng.random() < 0.5:
            optional += [_fill(b, ctx) for b in rng.sample(_MARKET_BACKGROUND, 6 if finance else 3)]
        if finance:
            # context sentences go last so that they only pad the longer reads
            rng.shuffle(optional)
            optional += [_fill(b, ctx) for b in rng.sample(_CONTEXT, 12)]
    # distractors from other scenarios
    if rng.random() < 0.35:
        others = [e for name, e in _ECHOES if name != spec["name"]]
        for e in rng.sample(others, 1 if rng.random() < 0.75 else 2):
            core.append(_fill(e, ctx))
    if not finance or spec["name"] == "unrelated_news":
        rng.shuffle(optional)

    target = _target_words(rng)
    body = list(core)
    words = _word_count([lede] + body)
    for sent in optional:
        if words >= target:
            break
        body.append(sent)
        words += len(sent.split())
    rng.shuffle(body)

    # group sentences into paragraphs of 1-3 sentences
    paragraphs = [lede]
    i = 0
    while i < len(body):
        k = rng.choice((1, 2, 2, 3))
        paragraphs.append(" ".join(body[i:i + k]))
        i += k
    return title, "\n\n".join(paragraphs)


def _lin(lo: int, hi: int, sev: float) -> float:
    return lo + (hi - lo) * sev


def _scores(rng: random.Random, spec: dict[str, Any], sev: float, sourcing: int, action: int) -> dict[str, int]:
    vals = [_lin(lo, hi, sev) for lo, hi in spec["ranges"]]
    if "evidence_override" in spec:
        lo, hi = spec["evidence_override"]
        ev = rng.randint(lo, hi) + sourcing
    else:
        ev = 2 + 2 * sourcing + rng.choice((0, 0, 1))
    if "action_override" in spec:
        lo, hi = spec["action_override"]
        ac = rng.randint(lo, hi) + (action - 1 if action > 1 else 0)
    else:
        ac = 1 + 2 * action + rng.choice((0, 1, 1))
    vals += [ev, ac]
    scores = [int(round(v)) for v in vals]
    # imperfect oracle: ±1 on a few dimensions
    for d in rng.sample(range(len(DIMENSIONS)), rng.choice((0, 1, 2, 2, 3))):
        scores[d] += rng.choice((-1, 1))
    out = {dim: max(0, min(10, s)) for dim, s in zip(DIMENSIONS, scores)}
    cap = spec.get("cap")
    if cap == "zero_signals":
        for dim in SIGNAL_DIMENSIONS:
            out[dim] = 0
        out["evidence_quality"] = min(out["evidence_quality"], 3)
    elif cap == "clickbait":
        out["evidence_quality"] = min(out["evidence_quality"], 3)
    elif cap == "unrelated":
        out = {dim: min(v, 2) for dim, v in out.items()}
    return out


def _one(rng: random.Random, seed: int, index: int) -> dict[str, Any]:
    spec = _ALL_SPECS[_weighted_index(rng, _WEIGHTS)]
    sev = rng.betavariate(*spec["sev"])
    sourcing = _weighted_index(rng, spec["sourcing"])
    action = _weighted_index(rng, spec["action"])
    ctx = _context(rng, sev)
    title, content = _compose(rng, spec, sev, sourcing, action, ctx)
    scores = _scores(rng, spec, sev, sourcing, action)
    month = rng.randint(1, 12)
    day = rng.randint(1, 28)
    return {
        "id": f"demo-{seed}-{index}",
        "title": title,
        "content": content,
        "source": SOURCE,
        "synthetic": True,
        "published_date": f"2026-{month:02d}-{day:02d}",
        "language": "en",
        "category": spec["name"],
        ANALYSIS_KEY: {dim: {"score": scores[dim], "evidence": None} for dim in DIMENSIONS},
    }


def generate_demo_articles(n: int = 600, seed: int = 0) -> list[dict]:
    """Generate ``n`` synthetic, oracle-scored articles, deterministic for ``seed``.

    Every article text (title + content) is distinct; the rare duplicate draw is
    simply redrawn from the same random stream, so determinism is kept.
    """
    if n < 0:
        raise ValueError("n must be >= 0")
    rng = random.Random(seed)
    rows: list[dict] = []
    seen: set[str] = set()
    while len(rows) < n:
        row = _one(rng, seed, len(rows))
        digest = hashlib.sha1((row["title"] + "\n" + row["content"]).encode("utf-8")).hexdigest()
        if digest in seen:
            continue
        seen.add(digest)
        rows.append(row)
    return rows


def write_jsonl(rows: Iterable[dict], path: str | os.PathLike) -> None:
    """Write ``rows`` as JSON lines to ``path`` atomically (temp file + ``os.replace``)."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".jsonl", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _tier(scores: dict[str, int]) -> str:  # pragma: no cover - used by the __main__ report
    m, c, s, v = (scores[d] for d in DIMENSIONS[:4])
    sy, e, a = scores["systemic_risk"], scores["evidence_quality"], scores["actionability"]
    if (m >= 7 or c >= 7 or sy >= 8) and e >= 5 and a >= 5:
        return "RED"
    if (5 <= m <= 6 or 5 <= c <= 6 or 7 <= v <= 8) and e >= 5 and a >= 4:
        return "YELLOW"
    if s >= 7 and v <= 3 and e >= 6 and a >= 5:
        return "GREEN"
    if e < 4:
        return "NOISE"
    return "BLUE"


if __name__ == "__main__":  # pragma: no cover
    import collections
    import sys
    import time

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 600
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    t0 = time.perf_counter()
    rows = generate_demo_articles(n, seed)
    dt = time.perf_counter() - t0
    tiers = collections.Counter(_tier({d: r[ANALYSIS_KEY][d]["score"] for d in DIMENSIONS}) for r in rows)
    lens = sorted(len(r["content"].split()) for r in rows)
    print(f"{n} rows in {dt:.3f}s")
    for t in ("RED", "YELLOW", "GREEN", "BLUE", "NOISE"):
        print(f"  {t:6s} {tiers[t]:4d} {100 * tiers[t] / max(1, n):5.1f}%")
    print(f"  words: min {lens[0]} median {lens[len(lens) // 2]} mean {sum(lens) / len(lens):.0f} "
          f"max {lens[-1]} (>=500: {sum(x >= 500 for x in lens)})")
    print("  categories:", dict(collections.Counter(r["category"] for r in rows)))
