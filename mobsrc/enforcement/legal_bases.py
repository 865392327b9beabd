"""Legal bases as data (standards-enforcement.md §5.3): seeded by migration, remappable when the
Ecological Environment Code replaces the Air Law's article numbers (§0.2). Pure."""
from __future__ import annotations

APPCL = "中华人民共和国大气污染防治法 (Air Pollution Prevention and Control Law, 2018)"

# (code, instrument, article, paragraph, authority, summary, fine_min, fine_max, fine_unit, points, confidence)
SEED = [
    ("APPCL-53-2", APPCL, "53", "2", "ecology department",
     "emission spot checks at parking places, repair places and by roadside remote sensing",
     None, None, None, None, "CONFIRMED"),
    ("APPCL-112-1", APPCL, "112", "1", "county+ ecology department",
     "falsified emission inspection results or false reports", 100000, 500000, "yuan", None, "CONFIRMED"),
    ("APPCL-112-3", APPCL, "112", "3", "county+ ecology department",
     "passing inspection by swapping pollution-control devices, or destroying the OBD (owner)",
     5000, 5000, "yuan", None, "UNCONFIRMED"),
    ("APPCL-113", APPCL, "113", None, "traffic police",
     "driving a vehicle that failed emission inspection (practice: violation code 6063, 200 yuan, 0 points)",
     200, 200, "yuan", 0, "SECONDARY"),
    ("APPCL-114-1", APPCL, "114", "1", "county+ ecology department",
     "using non-compliant NRMM; heavy diesel / NRMM not retrofitted as required", 5000, 5000, "yuan", None,
     "UNCONFIRMED"),
    ("APPCL-114-2", APPCL, "114", "2", "city-level ecology department",
     "using high-emission NRMM in a no-use zone (amount set by local regulation)", None, None, None, None,
     "SECONDARY"),
]
COLUMNS = ("code", "instrument", "article", "paragraph", "authority", "summary", "fine_min", "fine_max",
           "fine_unit", "points", "confidence")
