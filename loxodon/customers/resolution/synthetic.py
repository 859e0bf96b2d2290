"""Customer-like records with known truth, for training, tests and the accuracy benchmark.

`generate(n_records, seed)` returns `(records, truth)`: records are dicts with the columns a
centre's import produces (record_id, first_name, last_name, dob "YYYY-MM-DD", email, phone in
E.164, street, city, postcode (normalised: upper case, no spaces), account_number, site) and
`truth` maps record_id → person_id. The same seed always gives the same data.

What makes it hard, on purpose (all rates per person or per record, see the constants):
- names with a realistic skew: a few very common surnames and first names, plus a long tail;
  the same name for different people is common;
- about 1.6 records per person, from the home centre (re-registrations) or other centres, each
  centre with its own account numbers;
- typos (insert, delete, substitute, transpose), nicknames (Bill for William), first/last
  swaps, day/month swaps and digit slips in dates of birth, missing values;
- people who moved house (new street, postcode and city; same phone), changed phone or email;
- families sharing a surname, an address and one email address (twins even share a birthday);
- businesses with many contacts: same email domain, same switchboard phone, same address.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

COLUMNS = (
    "record_id",
    "first_name",
    "last_name",
    "dob",
    "email",
    "phone",
    "street",
    "city",
    "postcode",
    "account_number",
    "site",
)

RECORDS_PER_PERSON = 1.6
N_SITES = 120
FAMILY_SHARE = 0.12  # persons that join another person's household
BUSINESS_SHARE = 0.06  # persons that are a contact of a business
NAMESAKE_SHARE = 0.01  # persons that copy another person's full name (same name, other person)
TWIN_SHARE = 0.05  # of family members: born the same day as the head of the household
SAME_SITE_DUPLICATE = 0.5  # a person's extra record comes from their home centre

# Per record
P_MISSING = {
    "email": 0.25,
    "phone": 0.25,
    "dob": 0.12,
    "street": 0.06,
    "postcode": 0.05,
    "city": 0.05,
    "first_name": 0.01,
}
P_ACCOUNT = 0.8  # the centre recorded an account number
P_TYPO_FIRST = 0.12
P_TYPO_LAST = 0.12
P_NICKNAME = 0.12
P_SWAP_NAMES = 0.02
P_DOB_SWAP = 0.02
P_DOB_DIGIT = 0.03
P_DOB_WRONG = 0.01  # a different date altogether (a default, a relative's)
P_POSTCODE_TYPO = 0.03
P_STREET_TYPO = 0.05
# Per extra record (not the person's first)
P_MOVED = 0.15
P_NEW_PHONE = 0.10
P_NEW_EMAIL = 0.10
P_OTHER_EMAIL_FORMAT = 0.1


def _words(text: str) -> list[str]:
    return text.split()


MALE = _words(
    "James John Robert Michael William David Richard Joseph Thomas Charles Christopher Daniel "
    "Matthew Anthony Mark Donald Steven Paul Andrew Joshua Kenneth Kevin Brian George Timothy "
    "Ronald Edward Jason Jeffrey Ryan Jacob Gary Nicholas Eric Jonathan Stephen Larry Justin "
    "Scott Brandon Benjamin Samuel Gregory Alexander Frank Patrick Raymond Jack Dennis Jerry "
    "Tyler Aaron Jose Adam Nathan Henry Douglas Zachary Peter Kyle Ethan Walter Noah Jeremy "
    "Christian Keith Roger Terry Gerald Harold Sean Austin Carl Arthur Lawrence Dylan Jesse "
    "Jordan Bryan Billy Joe Bruce Gabriel Logan Albert Willie Alan Juan Wayne Elijah Randy Roy "
    "Vincent Ralph Eugene Russell Bobby Mason Philip Louis Oliver Harry Alfie Leo Archie Oscar "
    "Theo Arjun Mohammed Ahmed Omar Yusuf Ravi Sanjay Wei Chen Hiroshi Kofi Kwame Tomasz Piotr "
    "Marek Luca Marco Pierre Lars Sven Dmitri Ivan Hamish Callum Rhys Dafydd Niall Ciaran"
)
FEMALE = _words(
    "Mary Patricia Jennifer Linda Elizabeth Barbara Susan Jessica Sarah Karen Lisa Nancy Betty "
    "Margaret Sandra Ashley Kimberly Emily Donna Michelle Carol Amanda Dorothy Melissa Deborah "
    "Stephanie Rebecca Sharon Laura Cynthia Kathleen Amy Angela Shirley Anna Brenda Pamela Emma "
    "Nicole Helen Samantha Katherine Christine Debra Rachel Carolyn Janet Catherine Maria "
    "Heather Diane Ruth Julie Olivia Joyce Virginia Victoria Kelly Lauren Christina Joan "
    "Evelyn Judith Megan Andrea Cheryl Hannah Jacqueline Martha Gloria Teresa Ann Sara "
    "Madison Frances Kathryn Janice Jean Abigail Alice Judy Sophia Grace Denise Amber Doris "
    "Marilyn Danielle Beverly Isabella Theresa Diana Natalie Brittany Charlotte Marie Kayla "
    "Alexis Lori Amelia Isla Ava Mia Poppy Freya Priya Aisha Fatima Mei Yuki Ama Agnieszka "
    "Katarzyna Giulia Chiara Sofia Ingrid Astrid Olga Siobhan Aoife Morag Eilidh Bethan Ffion"
)
NICKNAMES = {
    "William": ["Bill", "Will", "Billy"],
    "Robert": ["Bob", "Rob", "Bobby"],
    "Richard": ["Dick", "Rick", "Rich"],
    "James": ["Jim", "Jimmy", "Jamie"],
    "John": ["Jack", "Johnny"],
    "Michael": ["Mike", "Mick"],
    "Thomas": ["Tom", "Tommy"],
    "Charles": ["Charlie", "Chuck"],
    "Christopher": ["Chris", "Kit"],
    "Daniel": ["Dan", "Danny"],
    "Matthew": ["Matt"],
    "Anthony": ["Tony"],
    "Joseph": ["Joe", "Joey"],
    "Edward": ["Ed", "Eddie", "Ted"],
    "Andrew": ["Andy", "Drew"],
    "Steven": ["Steve"],
    "Stephen": ["Steve"],
    "Nicholas": ["Nick"],
    "Benjamin": ["Ben"],
    "Samuel": ["Sam"],
    "Alexander": ["Alex", "Sandy"],
    "Gregory": ["Greg"],
    "Jonathan": ["Jon"],
    "Timothy": ["Tim"],
    "Kenneth": ["Ken"],
    "Lawrence": ["Larry"],
    "Henry": ["Harry", "Hal"],
    "Elizabeth": ["Liz", "Beth", "Betty", "Lizzie"],
    "Margaret": ["Maggie", "Peggy", "Meg"],
    "Katherine": ["Kate", "Kathy", "Katie"],
    "Catherine": ["Cathy", "Kate"],
    "Jennifer": ["Jen", "Jenny"],
    "Patricia": ["Pat", "Patty", "Trish"],
    "Susan": ["Sue", "Susie"],
    "Rebecca": ["Becky", "Becca"],
    "Deborah": ["Debbie", "Deb"],
    "Samantha": ["Sam", "Sammy"],
    "Victoria": ["Vicky", "Tori"],
    "Christine": ["Chris", "Chrissie"],
    "Alexis": ["Lexi"],
    "Abigail": ["Abby"],
    "Jacqueline": ["Jackie"],
    "Kimberly": ["Kim"],
    "Pamela": ["Pam"],
    "Dorothy": ["Dot", "Dolly"],
    "Judith": ["Judy"],
    "Theresa": ["Tess"],
    "Teresa": ["Tess"],
    "Frances": ["Fran"],
    "Amanda": ["Mandy"],
}
COMMON_SURNAMES = _words(
    "Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts Robinson "
    "Thompson Wright Walker White Edwards Hughes Green Hall Lewis Harris Clarke Patel Jackson "
    "Wood Turner Martin Cooper Hill Ward Morris Moore Clark Lee King Baker Harrison Morgan Allen "
    "James Scott Phillips Watson Davis Parker Price Bennett Young Griffiths Mitchell Kelly Cook "
    "Carter Richardson Bailey Collins Bell Shaw Murphy Miller Cox Richards Khan Marshall Anderson "
    "Simpson Ellis Adams Singh Begum Wilkinson Foster Chapman Powell Webb Rogers Gray Mason Ali "
    "Hunt Hussain Campbell Matthews Owen Palmer Holmes Mills Barnes Knight Lloyd Butler Russell "
    "Barker Fisher Stevens Jenkins Murray Dixon Harvey Nguyen Kowalski Nowak Rossi"
)
SURNAME_HEADS = _words(
    "Ash Black Brad Brook Burn Cald Chad Clay Cran Dal Dun Eld Fair Farn Fen Gar Glen Hal "
    "Hart Hay Hol Kings Lang Lin Mar Mid Mor New Nor Old Pen Rad Red Ring Sal Shel Stan Stock "
    "Sut Thorn Wal War Wes Whit Win Wolf Yar Ab Bal Bran Car Cor Dray Ever Gil Hamp Kel Lock"
)
SURNAME_TAILS = _words(
    "ton ley field worth wood ford by well more ridge ham stead wick combe dale hurst gate "
    "shaw bury land brook cott thorpe well ing ell ard er son man well wright holt"
)
CITIES = (
    ("London", "E"),
    ("London", "N"),
    ("London", "SW"),
    ("London", "SE"),
    ("London", "W"),
    ("Birmingham", "B"),
    ("Manchester", "M"),
    ("Leeds", "LS"),
    ("Glasgow", "G"),
    ("Liverpool", "L"),
    ("Bristol", "BS"),
    ("Sheffield", "S"),
    ("Edinburgh", "EH"),
    ("Cardiff", "CF"),
    ("Leicester", "LE"),
    ("Coventry", "CV"),
    ("Nottingham", "NG"),
    ("Newcastle", "NE"),
    ("Brighton", "BN"),
    ("Southampton", "SO"),
    ("Portsmouth", "PO"),
    ("Plymouth", "PL"),
    ("Reading", "RG"),
    ("Oxford", "OX"),
    ("Cambridge", "CB"),
    ("Norwich", "NR"),
    ("York", "YO"),
    ("Hull", "HU"),
    ("Derby", "DE"),
    ("Stoke", "ST"),
    ("Wolverhampton", "WV"),
    ("Bradford", "BD"),
    ("Aberdeen", "AB"),
    ("Dundee", "DD"),
    ("Belfast", "BT"),
    ("Swansea", "SA"),
    ("Exeter", "EX"),
    ("Bath", "BA"),
    ("Luton", "LU"),
    ("Milton Keynes", "MK"),
    ("Northampton", "NN"),
    ("Peterborough", "PE"),
    ("Ipswich", "IP"),
    ("Colchester", "CO"),
    ("Chelmsford", "CM"),
    ("Guildford", "GU"),
    ("Canterbury", "CT"),
    ("Tunbridge Wells", "TN"),
    ("Preston", "PR"),
    ("Blackpool", "FY"),
    ("Bolton", "BL"),
    ("Wigan", "WN"),
    ("Warrington", "WA"),
    ("Chester", "CH"),
    ("Lancaster", "LA"),
    ("Carlisle", "CA"),
    ("Durham", "DH"),
    ("Sunderland", "SR"),
    ("Middlesbrough", "TS"),
    ("Doncaster", "DN"),
    ("Lincoln", "LN"),
    ("Worcester", "WR"),
    ("Gloucester", "GL"),
    ("Hereford", "HR"),
    ("Shrewsbury", "SY"),
    ("Telford", "TF"),
    ("Inverness", "IV"),
    ("Perth", "PH"),
    ("Stirling", "FK"),
    ("Kilmarnock", "KA"),
)
STREET_WORDS = _words(
    "Church Station Victoria Park Manor Mill School Queens Kings Grange Highfield Green Albert "
    "Springfield Windsor Chester Orchard Meadow Oak Elm Beech Ash Willow Cedar Birch Maple "
    "Rose Heather Cherry Hawthorn Holly Ivy Laurel Lime Alexandra Princess Prince York "
    "Lancaster Cambridge Oxford Beaconsfield Kingsway Westfield Eastfield Northfield Southfield "
    "Riverside Brookside Lakeside Hillside Woodside Fairfield Broad Long High New Old Market "
    "Bridge Castle Abbey Priory Chapel Vicarage Rectory Farm Barn Stable Forge Quarry Cliff"
)
STREET_KINDS = _words(
    "Street Road Lane Avenue Close Drive Way Crescent Gardens Grove Place Terrace"
)
MAIL_DOMAINS = (
    ("gmail.com", 30),
    ("hotmail.co.uk", 12),
    ("outlook.com", 10),
    ("yahoo.co.uk", 8),
    ("btinternet.com", 6),
    ("icloud.com", 6),
    ("live.co.uk", 4),
    ("sky.com", 3),
    ("aol.com", 2),
    ("protonmail.com", 1),
)
BUSINESS_WORDS = _words(
    "Acme Apex Summit Pinnacle Harbour Northern Southern Atlas Beacon Crown Meridian Vertex "
    "Quantum Orbit Falcon Phoenix Granite Silver Golden Emerald Sterling Premier Crest Bridge"
)
BUSINESS_KINDS = _words(
    "Ltd Logistics Foods Engineering Systems Consulting Services Builders Supplies"
)
LETTERS = "ABCDEFGHJKLMNPQRSTUWXYZ"
ALPHABET = "abcdefghijklmnopqrstuvwxyz"


@dataclass
class Person:
    person_id: int
    first_name: str
    last_name: str
    dob: date
    email: str
    phone: str
    street: str
    city: str
    postcode: str
    home_site: int


def zipf_weights(n: int, s: float = 1.0) -> list[float]:
    """Cumulative Zipf weights (for `random.choices(cum_weights=...)`, which is much faster)."""
    total, cumulative = 0.0, []
    for k in range(n):
        total += 1.0 / (k + 1) ** s
        cumulative.append(total)
    return cumulative


class _Unique:
    """Distinct numbers drawn from [0, modulus) in a seeded, permuted order (an affine map)."""

    def __init__(self, rng: random.Random, modulus: int) -> None:
        self.modulus = modulus
        self.step = rng.randrange(modulus // 3, modulus) | 1
        while _gcd(self.step, modulus) != 1:
            self.step += 2
        self.offset = rng.randrange(modulus)
        self.i = 0

    def next(self) -> int:
        self.i += 1
        return (self.step * self.i + self.offset) % self.modulus


def _gcd(a: int, b: int) -> int:
    while b:
        a, b = b, a % b
    return a


class _World:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.tail_surnames = sorted(
            {h + t for h in SURNAME_HEADS for t in SURNAME_TAILS}
            | {h + t + "e" for h in SURNAME_HEADS[:20] for t in SURNAME_TAILS[:15]}
        )
        rng.shuffle(self.tail_surnames)
        self.common_w = zipf_weights(len(COMMON_SURNAMES), 0.9)
        self.tail_w = zipf_weights(len(self.tail_surnames), 0.6)
        self.male_w = zipf_weights(len(MALE), 0.7)
        self.female_w = zipf_weights(len(FEMALE), 0.7)
        self.city_w = zipf_weights(len(CITIES), 0.5)
        self.domains = [d for d, _ in MAIL_DOMAINS]
        self.domain_w = list(itertools.accumulate(w for _, w in MAIL_DOMAINS))
        self.mobiles = _Unique(rng, 10**9)
        self.landlines = _Unique(rng, 10**8)
        self.accounts = [_Unique(rng, 10**7) for _ in range(N_SITES)]
        self.emails: set[str] = set()
        self.sites = [f"c{k:03d}" for k in range(1, N_SITES + 1)]

    def first_name(self) -> str:
        if self.rng.random() < 0.5:
            return self.rng.choices(MALE, cum_weights=self.male_w)[0]
        return self.rng.choices(FEMALE, cum_weights=self.female_w)[0]

    def last_name(self) -> str:
        if self.rng.random() < 0.35:
            return self.rng.choices(COMMON_SURNAMES, cum_weights=self.common_w)[0]
        return self.rng.choices(self.tail_surnames, cum_weights=self.tail_w)[0]

    def dob(self) -> date:
        return date(1935, 1, 1) + timedelta(days=self.rng.randrange(26000))

    def address(self) -> tuple[str, str, str]:
        rng = self.rng
        city, area = rng.choices(CITIES, cum_weights=self.city_w)[0]
        street = f"{rng.randrange(1, 240)} {rng.choice(STREET_WORDS)} {rng.choice(STREET_KINDS)}"
        postcode = (
            f"{area}{rng.randrange(1, 30)}"
            f"{rng.randrange(10)}{rng.choice(LETTERS)}{rng.choice(LETTERS)}"
        )
        return street, city, postcode

    def mobile(self) -> str:
        return f"+447{self.mobiles.next():09d}"

    def landline(self) -> str:
        return f"+442{self.landlines.next():08d}"

    def account_number(self, site: int) -> str:
        return f"{self.sites[site].upper()}{self.accounts[site].next():07d}"

    def email(self, first: str, last: str, domain: str | None = None) -> str:
        rng = self.rng
        f, la = first.lower(), last.lower()
        style = rng.randrange(5)
        local = (f"{f}.{la}", f"{f[0]}{la}", f"{f}{la}", f"{la}.{f}", f"{f}_{la}")[style]
        domain = domain or rng.choices(self.domains, cum_weights=self.domain_w)[0]
        email = f"{local}@{domain}"
        while email in self.emails:
            email = f"{local}{rng.randrange(1, 10000)}@{domain}"
        self.emails.add(email)
        return email


def _typo(rng: random.Random, word: str) -> str:
    if len(word) < 3:
        return word
    i = rng.randrange(1, len(word))  # keep the first letter: typos rarely hit it
    kind = rng.randrange(4)
    c = rng.choice(ALPHABET)
    if kind == 0:
        return word[:i] + c + word[i:]
    if kind == 1:
        return word[:i] + word[i + 1 :]
    if kind == 2:
        return word[:i] + c + word[i + 1 :]
    if i < len(word) - 1:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    return word[:i] + c


def _people(world: _World, n_persons: int) -> list[Person]:
    rng = world.rng
    people: list[Person] = []
    # The business now taking on contacts: domain, phone, street, city, postcode.
    business: tuple[str, str, str, str, str] = ("", "", "", "", "")
    open_slots, n_businesses = 0, 0
    for pid in range(n_persons):
        roll = rng.random()
        first = world.first_name()
        if people and roll < FAMILY_SHARE:
            head = people[rng.randrange(len(people))]
            dob = head.dob if rng.random() < TWIN_SHARE else world.dob()
            people.append(
                Person(
                    pid,
                    first,
                    head.last_name,
                    dob,
                    head.email,  # the family's shared address
                    world.mobile(),
                    head.street,
                    head.city,
                    head.postcode,
                    head.home_site,
                )
            )
            continue
        last = world.last_name()
        if people and roll < FAMILY_SHARE + NAMESAKE_SHARE:
            other = people[rng.randrange(len(people))]
            first, last = other.first_name, other.last_name
        if roll > 1 - BUSINESS_SHARE:
            if open_slots <= 0:
                name = f"{rng.choice(BUSINESS_WORDS)}{rng.choice(BUSINESS_KINDS)}".lower()
                street, city, postcode = world.address()
                business = (f"{name}{n_businesses}.co.uk", world.landline(), street, city, postcode)
                n_businesses += 1
                size = rng.random()
                open_slots = (
                    rng.randrange(2, 6)
                    if size < 0.6
                    else rng.randrange(6, 21)
                    if size < 0.9
                    else rng.randrange(21, 101)
                )
            open_slots -= 1
            domain, phone, street, city, postcode = business
            people.append(
                Person(
                    pid,
                    first,
                    last,
                    world.dob(),
                    world.email(first, last, domain),
                    phone,
                    street,
                    city,
                    postcode,
                    rng.randrange(N_SITES),
                )
            )
            continue
        street, city, postcode = world.address()
        people.append(
            Person(
                pid,
                first,
                last,
                world.dob(),
                world.email(first, last),
                world.mobile(),
                street,
                city,
                postcode,
                rng.randrange(N_SITES),
            )
        )
    return people


def _dob_text(rng: random.Random, dob: date) -> str | None:
    if rng.random() < P_MISSING["dob"]:
        return None
    text = dob.isoformat()
    r = rng.random()
    if r < P_DOB_SWAP and dob.day <= 12 and dob.day != dob.month:
        return f"{dob.year:04d}-{dob.day:02d}-{dob.month:02d}"
    if r > 1 - P_DOB_WRONG:
        return (date(1935, 1, 1) + timedelta(days=rng.randrange(26000))).isoformat()
    if r < P_DOB_SWAP + P_DOB_DIGIT:
        i = rng.choice((2, 3, 6, 9))  # a slip in the year's decade/unit, the month or the day
        digit = str(rng.randrange(10))
        candidate = text[:i] + digit + text[i + 1 :]
        try:
            date.fromisoformat(candidate)
        except ValueError:
            return text
        return candidate
    return text


def _record(
    world: _World, person: Person, record_id: int, extra: bool, site: int
) -> dict[str, Any]:
    rng = world.rng
    first, last = person.first_name, person.last_name
    street, city, postcode = person.street, person.city, person.postcode
    email, phone = person.email, person.phone
    if extra:
        if rng.random() < P_MOVED:
            street, city, postcode = world.address()
        if rng.random() < P_NEW_PHONE:
            phone = world.mobile()
        if rng.random() < P_NEW_EMAIL:
            email = world.email(first, last)
    if rng.random() < P_NICKNAME and first in NICKNAMES:
        first = rng.choice(NICKNAMES[first])
    if rng.random() < P_TYPO_FIRST:
        first = _typo(rng, first)
    if rng.random() < P_TYPO_LAST:
        last = _typo(rng, last)
    if rng.random() < P_SWAP_NAMES:
        first, last = last, first
    if street and rng.random() < P_STREET_TYPO:
        street = _typo(rng, street)
    if rng.random() < P_POSTCODE_TYPO:
        i = rng.randrange(len(postcode) - 2, len(postcode))
        postcode = postcode[:i] + rng.choice(LETTERS) + postcode[i + 1 :]

    def keep(column: str, value: str) -> str | None:
        return None if rng.random() < P_MISSING.get(column, 0.0) else value

    return {
        "record_id": record_id,
        "first_name": keep("first_name", first),
        "last_name": last,
        "dob": _dob_text(rng, person.dob),
        "email": keep("email", email),
        "phone": keep("phone", phone),
        "street": keep("street", street),
        "city": keep("city", city),
        "postcode": keep("postcode", postcode),
        "account_number": None,  # filled per (person, centre) by the caller
        "site": world.sites[site],
    }


def iter_records(n_records: int, seed: int = 0) -> Iterator[tuple[dict[str, Any], int]]:
    """(record, person_id) pairs, in a shuffled order; see the module docstring."""
    if n_records < 1:
        raise ValueError("n_records must be at least 1")
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    world = _World(rng)
    n_persons = max(1, round(n_records / RECORDS_PER_PERSON))
    people = _people(world, n_persons)
    owners = list(range(n_persons)) + [
        rng.randrange(n_persons) for _ in range(n_records - n_persons)
    ]
    owners = owners[:n_records]
    seen: set[int] = set()
    plan: list[tuple[int, bool]] = []
    for pid in owners:
        plan.append((pid, pid in seen))
        seen.add(pid)
    order = list(range(n_records))
    rng.shuffle(order)
    accounts: dict[tuple[int, int], str] = {}
    for record_id, k in enumerate(order, start=1):
        pid, extra = plan[k]
        person = people[pid]
        if not extra or rng.random() < SAME_SITE_DUPLICATE:
            site = person.home_site
        else:
            site = rng.randrange(N_SITES)
        record = _record(world, person, record_id, extra, site)
        if rng.random() < P_ACCOUNT:
            key = (pid, site)
            if key not in accounts:
                accounts[key] = world.account_number(site)
            record["account_number"] = accounts[key]
        yield record, pid


def generate(n_records: int, seed: int = 0) -> tuple[list[dict[str, Any]], dict[int, int]]:
    """`n_records` customer-like records and the truth: record_id → person_id."""
    records: list[dict[str, Any]] = []
    truth: dict[int, int] = {}
    for record, pid in iter_records(n_records, seed):
        records.append(record)
        truth[record["record_id"]] = pid
    return records, truth


def true_pairs(truth: dict[int, int]) -> set[tuple[int, int]]:
    """All (smaller, larger) record-id pairs that belong to one person."""
    by_person: dict[int, list[int]] = {}
    for rid, pid in truth.items():
        by_person.setdefault(pid, []).append(rid)
    pairs: set[tuple[int, int]] = set()
    for rids in by_person.values():
        rids.sort()
        for i, a in enumerate(rids):
            for b in rids[i + 1 :]:
                pairs.add((a, b))
    return pairs
