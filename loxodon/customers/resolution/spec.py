"""One comparison spec, two engines: Splink SQL for batch linkage, Python for real time.

A `Spec` lists comparisons; each comparison is an ordered list of levels (first true wins, as
in SQL's CASE WHEN), the first being the "null" level (a value missing on either side: Bayes
factor 1). Every level is built from small predicates that know both how to write themselves
as SQL for DuckDB or Spark and how to evaluate themselves on two prepared Python records
(rapidfuzz for the string similarities), so the batch model and real-time resolution agree on
every pair. `test_resolution_spec.py` checks the agreement against DuckDB on generated pairs.

Records are prepared before comparison (`Spec.prepare_record` / `Spec.prepare_frame`, which
share the per-column functions): names lower-cased with a canonical form for nicknames,
postcodes without spaces plus their outward code, the local part of emails, phone tails.
This module needs no Django: the accuracy benchmark uses it on plain data.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from rapidfuzz.distance import JaroWinkler, Levenshtein

Dialect = Literal["duckdb", "spark"]
Record = Mapping[str, Any]

JW_FUNCTION = {"duckdb": "jaro_winkler_similarity", "spark": "jaro_winkler"}


def _present(value: Any) -> bool:
    return value is not None and value != ""


def _both(left: Record, right: Record, column: str, other: str | None = None) -> tuple[str, str]:
    """The two values as strings, or ("", "") when either is missing (callers check `a`)."""
    a, b = left.get(column), right.get(other or column)
    if not (_present(a) and _present(b)):
        return "", ""
    return str(a), str(b)


# --- predicates --------------------------------------------------------------------------


Test = Callable[[Record, Record], bool]


class Predicate:
    def sql(self, dialect: Dialect) -> str:
        raise NotImplementedError

    def test(self, left: Record, right: Record) -> bool:
        raise NotImplementedError

    def compiled(self) -> Test:
        """`test` as a closure over prepared records (values are non-empty strings or None):
        the same logic with fewer lookups, for real time's hot loop."""
        return self.test


@dataclass(frozen=True)
class Null(Predicate):
    """The value is missing on either side (null level)."""

    column: str

    def sql(self, dialect: Dialect) -> str:
        return f'"{self.column}_l" IS NULL OR "{self.column}_r" IS NULL'

    def test(self, left: Record, right: Record) -> bool:
        return not _present(left.get(self.column)) or not _present(right.get(self.column))

    def compiled(self) -> Test:
        c = self.column
        return lambda left, right: not left.get(c) or not right.get(c)


@dataclass(frozen=True)
class Exact(Predicate):
    column: str

    def sql(self, dialect: Dialect) -> str:
        return f'"{self.column}_l" = "{self.column}_r"'

    def test(self, left: Record, right: Record) -> bool:
        a = left.get(self.column)
        return _present(a) and a == right.get(self.column)

    def compiled(self) -> Test:
        c = self.column

        def exact(left: Record, right: Record) -> bool:
            a = left.get(c)
            return bool(a) and a == right.get(c)

        return exact


@dataclass(frozen=True)
class JaroWinklerAtLeast(Predicate):
    """Similarity of the left `column` and the right `other` (default: the same column)."""

    column: str
    threshold: float
    other: str | None = None

    def sql(self, dialect: Dialect) -> str:
        fn = JW_FUNCTION[dialect]
        other = self.other or self.column
        return f'{fn}("{self.column}_l", "{other}_r") >= {self.threshold}'

    def test(self, left: Record, right: Record) -> bool:
        a, b = _both(left, right, self.column, self.other)
        if not a:
            return False
        return bool(JaroWinkler.normalized_similarity(a, b) >= self.threshold)

    def compiled(self) -> Test:
        c, o, t = self.column, self.other or self.column, self.threshold
        similarity = JaroWinkler.normalized_similarity

        def jaro_winkler(left: Record, right: Record) -> bool:
            a, b = left.get(c), right.get(o)
            if not a or not b:
                return False
            return bool(similarity(a, b) >= t)

        return jaro_winkler


@dataclass(frozen=True)
class LevenshteinAtMost(Predicate):
    column: str
    distance: int

    def sql(self, dialect: Dialect) -> str:
        return f'levenshtein("{self.column}_l", "{self.column}_r") <= {self.distance}'

    def test(self, left: Record, right: Record) -> bool:
        a, b = _both(left, right, self.column)
        if not a:
            return False
        return bool(Levenshtein.distance(a, b) <= self.distance)


@dataclass(frozen=True)
class SameSlice(Predicate):
    """Characters [start, start+length) agree (1-based start, as SQL's substr)."""

    column: str
    start: int
    length: int

    def sql(self, dialect: Dialect) -> str:
        c, s, n = self.column, self.start, self.length
        return f'substr("{c}_l", {s}, {n}) = substr("{c}_r", {s}, {n})'

    def test(self, left: Record, right: Record) -> bool:
        a, b = _both(left, right, self.column)
        if not a:
            return False
        i = self.start - 1
        return bool(a[i : i + self.length] == b[i : i + self.length])


@dataclass(frozen=True)
class DayMonthSwapped(Predicate):
    """Dates written YYYY-MM-DD: same year, day and month exchanged."""

    column: str

    def sql(self, dialect: Dialect) -> str:
        c = self.column
        return (
            f'substr("{c}_l", 1, 4) = substr("{c}_r", 1, 4) AND '
            f'substr("{c}_l", 6, 2) = substr("{c}_r", 9, 2) AND '
            f'substr("{c}_l", 9, 2) = substr("{c}_r", 6, 2)'
        )

    def test(self, left: Record, right: Record) -> bool:
        a, b = _both(left, right, self.column)
        if not a:
            return False
        return bool(a[:4] == b[:4] and a[5:7] == b[8:10] and a[8:10] == b[5:7])


@dataclass(frozen=True)
class AllOf(Predicate):
    parts: tuple[Predicate, ...]

    def sql(self, dialect: Dialect) -> str:
        return " AND ".join(f"({p.sql(dialect)})" for p in self.parts)

    def test(self, left: Record, right: Record) -> bool:
        return all(p.test(left, right) for p in self.parts)

    def compiled(self) -> Test:
        parts = tuple(p.compiled() for p in self.parts)

        def all_of(left: Record, right: Record) -> bool:
            return all(part(left, right) for part in parts)

        return all_of


@dataclass(frozen=True)
class AnyOf(Predicate):
    parts: tuple[Predicate, ...]

    def sql(self, dialect: Dialect) -> str:
        return " OR ".join(f"({p.sql(dialect)})" for p in self.parts)

    def test(self, left: Record, right: Record) -> bool:
        return any(p.test(left, right) for p in self.parts)

    def compiled(self) -> Test:
        parts = tuple(p.compiled() for p in self.parts)

        def any_of(left: Record, right: Record) -> bool:
            return any(part(left, right) for part in parts)

        return any_of


# --- comparisons -------------------------------------------------------------------------


@dataclass(frozen=True)
class Level:
    label: str
    when: Predicate | None  # None: the "else" level
    is_null: bool = False
    # A hard conflict: whatever the total weight, a pair at this level is never merged
    # automatically (it goes to review). E.g. two different given names, or dates of birth
    # years apart: twins, a mother and daughter of the same name.
    vetoes_auto_merge: bool = False


@dataclass(frozen=True)
class Comparison:
    """One field's comparison: levels in order, the null level first and "else" last."""

    name: str
    levels: tuple[Level, ...]

    def level_index(self, left: Record, right: Record) -> int:
        """Position in `levels` of the first level that holds (as the SQL CASE does)."""
        for i, holds in enumerate(self._tests):
            if holds(left, right):
                return i
        return len(self.levels) - 1

    def level_index_reference(self, left: Record, right: Record) -> int:
        """`level_index` through the predicates' plain `test` (the readable definition)."""
        for i, level in enumerate(self.levels):
            if level.when is None or level.when.test(left, right):
                return i
        return len(self.levels) - 1

    @functools.cached_property
    def _tests(self) -> tuple[Test, ...]:
        return tuple(
            (lambda _left, _right: True) if level.when is None else level.when.compiled()
            for level in self.levels
        )

    def vetoed_gammas(self) -> set[int]:
        return {self.gamma(i) for i, level in enumerate(self.levels) if level.vetoes_auto_merge}

    def gamma(self, index: int) -> int:
        """Splink's comparison vector value for a level position (null -1, else 0)."""
        if self.levels[index].is_null:
            return -1
        return len(self.levels) - 1 - index

    def splink(self, dialect: Dialect) -> dict[str, Any]:
        levels = []
        for level in self.levels:
            item: dict[str, Any] = {
                "sql_condition": "ELSE" if level.when is None else level.when.sql(dialect),
                "label_for_charts": level.label,
            }
            if level.is_null:
                item["is_null_level"] = True
            levels.append(item)
        return {
            "output_column_name": self.name,
            "comparison_description": self.name,
            "comparison_levels": levels,
        }


def names(column: str, canonical: str | None = None) -> Comparison:
    levels = [Level("null", Null(column), is_null=True), Level("exact", Exact(column))]
    if canonical:
        levels.append(Level("same canonical name (nickname)", Exact(canonical)))
    levels += [
        Level("Jaro-Winkler >= 0.92", JaroWinklerAtLeast(column, 0.92)),
        Level("Jaro-Winkler >= 0.80", JaroWinklerAtLeast(column, 0.80)),
        Level("else", None),
    ]
    return Comparison(column, tuple(levels))


def dates(column: str, *, veto: bool = False) -> Comparison:
    return Comparison(
        column,
        (
            Level("null", Null(column), is_null=True),
            Level("exact", Exact(column)),
            Level(
                "day/month swapped or one digit off",
                AnyOf((DayMonthSwapped(column), LevenshteinAtMost(column, 1))),
            ),
            Level("same year", SameSlice(column, 1, 4), vetoes_auto_merge=veto),
            Level("else", None, vetoes_auto_merge=veto),
        ),
    )


def exact_or_else(column: str, *partial: tuple[str, Predicate]) -> Comparison:
    levels = [Level("null", Null(column), is_null=True), Level("exact", Exact(column))]
    levels += [Level(label, when) for label, when in partial]
    levels.append(Level("else", None))
    return Comparison(column, tuple(levels))


# --- preparation -------------------------------------------------------------------------

_SPACES = re.compile(r"\s+")
_NOT_NAME = re.compile(r"[^a-z\s'\-]")

# Common English given-name diminutives → the formal name (a curated list, as a real system
# would ship; deliberately not the generator's own table).
NICKNAMES = {
    "bill": "william",
    "will": "william",
    "billy": "william",
    "willy": "william",
    "liam": "william",
    "bob": "robert",
    "rob": "robert",
    "bobby": "robert",
    "robbie": "robert",
    "dick": "richard",
    "rick": "richard",
    "rich": "richard",
    "ricky": "richard",
    "jim": "james",
    "jimmy": "james",
    "jamie": "james",
    "jack": "john",
    "johnny": "john",
    "mike": "michael",
    "mick": "michael",
    "mikey": "michael",
    "tom": "thomas",
    "tommy": "thomas",
    "charlie": "charles",
    "chris": "christopher",
    "dan": "daniel",
    "danny": "daniel",
    "matt": "matthew",
    "tony": "anthony",
    "joe": "joseph",
    "joey": "joseph",
    "ed": "edward",
    "eddie": "edward",
    "ted": "edward",
    "andy": "andrew",
    "drew": "andrew",
    "steve": "steven",
    "stephen": "steven",
    "nick": "nicholas",
    "ben": "benjamin",
    "sam": "samuel",
    "alex": "alexander",
    "greg": "gregory",
    "jon": "jonathan",
    "tim": "timothy",
    "ken": "kenneth",
    "larry": "lawrence",
    "harry": "henry",
    "hal": "henry",
    "liz": "elizabeth",
    "beth": "elizabeth",
    "betty": "elizabeth",
    "lizzie": "elizabeth",
    "eliza": "elizabeth",
    "maggie": "margaret",
    "peggy": "margaret",
    "meg": "margaret",
    "kate": "katherine",
    "kathy": "katherine",
    "katie": "katherine",
    "catherine": "katherine",
    "cathy": "katherine",
    "jen": "jennifer",
    "jenny": "jennifer",
    "pat": "patricia",
    "patty": "patricia",
    "trish": "patricia",
    "sue": "susan",
    "susie": "susan",
    "becky": "rebecca",
    "becca": "rebecca",
    "debbie": "deborah",
    "deb": "deborah",
    "debra": "deborah",
    "vicky": "victoria",
    "tori": "victoria",
    "abby": "abigail",
    "jackie": "jacqueline",
    "kim": "kimberly",
    "pam": "pamela",
    "dot": "dorothy",
    "judy": "judith",
    "tess": "theresa",
    "teresa": "theresa",
    "fran": "frances",
    "mandy": "amanda",
    "chuck": "charles",
    "chas": "charles",
    "kit": "christopher",
    "topher": "christopher",
    "dolly": "dorothy",
    "dottie": "dorothy",
    "sandy": "alexander",
    "sasha": "alexander",
    "sammy": "samuel",
    "lexi": "alexis",
    "chrissie": "christine",
    "chrissy": "christine",
    "nate": "nathan",
    "zach": "zachary",
    "josh": "joshua",
    "jeff": "jeffrey",
    "geoff": "geoffrey",
    "ron": "ronald",
    "ronnie": "ronald",
    "don": "donald",
    "donnie": "donald",
    "gerry": "gerald",
    "pete": "peter",
    "phil": "philip",
    "vince": "vincent",
    "ray": "raymond",
    "doug": "douglas",
    "wally": "walter",
    "walt": "walter",
    "fred": "frederick",
    "freddie": "frederick",
    "frank": "francis",
    "sally": "sarah",
    "sadie": "sarah",
    "nan": "ann",
    "annie": "ann",
    "ellie": "eleanor",
    "nell": "eleanor",
    "molly": "mary",
    "polly": "mary",
    "mae": "mary",
    "jess": "jessica",
    "jessie": "jessica",
    "steph": "stephanie",
    "cindy": "cynthia",
    "val": "valerie",
    "bev": "beverly",
    "di": "diana",
    "gill": "gillian",
    "jill": "gillian",
    "nicky": "nicole",
    "nikki": "nicole",
    "mel": "melissa",
    "missy": "melissa",
    "liza": "elizabeth",
    "bess": "elizabeth",
    "izzy": "isabella",
    "bella": "isabella",
    "lottie": "charlotte",
}


def fold(text: str) -> str:
    """Lower case without accents: "Élodie" → "elodie" (centres differ in what they keep)."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def clean_name(value: Any) -> str | None:
    if not _present(value):
        return None
    text = fold(str(value))
    if text.isalpha():
        return text
    text = _SPACES.sub(" ", _NOT_NAME.sub("", text)).strip()
    return text or None


def canonical_first_name(value: str | None) -> str | None:
    if value is None:
        return None
    return NICKNAMES.get(value, value)


def clean_text(value: Any) -> str | None:
    if not _present(value):
        return None
    text = _SPACES.sub(" ", str(value).lower()).strip()
    return text or None


def clean_date(value: Any) -> str | None:
    if not _present(value):
        return None
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()[:10]
    return text or None


def clean_postcode(value: Any) -> str | None:
    if not _present(value):
        return None
    text = _SPACES.sub("", str(value)).upper()
    return text or None


def postcode_outward(postcode: str | None) -> str | None:
    """UK outward code: all but the last three characters (the inward code)."""
    if postcode is None:
        return None
    return postcode[:-3] if len(postcode) >= 5 else postcode


def clean_email(value: Any) -> str | None:
    if not _present(value):
        return None
    text = str(value).strip().lower()
    return text or None


def email_local(email: str | None) -> str | None:
    if email is None:
        return None
    return email.split("@", 1)[0] or None


def clean_phone(value: Any) -> str | None:
    if not _present(value):
        return None
    text = re.sub(r"[^\d+]", "", str(value))
    return text or None


def phone_tail(phone: str | None) -> str | None:
    if phone is None:
        return None
    digits = phone.lstrip("+")
    return digits[-7:] if len(digits) >= 7 else None


def clean_account(value: Any) -> str | None:
    if not _present(value):
        return None
    text = re.sub(r"[\s\-]", "", str(value)).upper()
    return text or None


PERSON = "person"  # the veto_lifts key of the person-evidence rule

# (prepared column, source column, function of the source value)
Derivation = tuple[str, str, Callable[[Any], Any]]


@dataclass(frozen=True)
class Spec:
    """Comparisons, preparation, and the blocking/training rules of one linkage model."""

    name: str
    comparisons: tuple[Comparison, ...]
    derivations: tuple[Derivation, ...]
    # Blocking rules as column tuples (all equal), or SQL strings over l./r.
    prediction_blocking: tuple[tuple[str, ...] | str, ...]
    training_blocking: tuple[tuple[str, ...] | str, ...]
    deterministic_rules: tuple[tuple[str, ...] | str, ...]
    deterministic_recall: float = 0.7
    # A veto (see Level.vetoes_auto_merge) on comparison K is lifted by any of veto_lifts[K]:
    # (comparison, level label) pairs that identify one person on their own.
    veto_lifts: Mapping[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    # At least one of these must be known on both sides for an automatic merge; otherwise the
    # pair agrees only on what a household shares (surname, address, email). Lifted by
    # veto_lifts[PERSON].
    person_evidence: tuple[str, ...] = ()
    # Real time evaluates comparisons in this order (cheap and decisive first) and stops as
    # soon as the pair cannot reach the candidate threshold; default: the spec's order.
    score_order: tuple[str, ...] = ()
    # Prepared columns whose values are dropped from blocking when this many records share one.
    crowded_limit: int = 0
    crowded_columns: tuple[str, ...] = field(default_factory=tuple)

    @property
    def columns(self) -> list[str]:
        return [name for name, _, _ in self.derivations]

    def prepare_record(self, raw: Record) -> dict[str, Any]:
        prepared: dict[str, Any] = {}
        for name, source, fn in self.derivations:
            value = prepared[source] if source in prepared else raw.get(source)
            prepared[name] = fn(value)
        return prepared

    def prepare_columns(self, raw: Mapping[str, Sequence[Any]]) -> dict[str, list[Any]]:
        """Column-wise `prepare_record` (same functions), for data frames."""
        prepared: dict[str, list[Any]] = {}
        for name, source, fn in self.derivations:
            values = prepared[source] if source in prepared else raw[source]
            prepared[name] = [fn(v) for v in values]
        return prepared

    def level_indexes(self, left: Record, right: Record) -> list[int]:
        return [c.level_index(left, right) for c in self.comparisons]

    def vetoed_gammas(self) -> dict[str, set[int]]:
        """Per comparison, the gamma values that forbid an automatic merge."""
        return {c.name: c.vetoed_gammas() for c in self.comparisons if c.vetoed_gammas()}

    def lifting_gammas(self, name: str) -> list[tuple[str, int]]:
        """(comparison, gamma) pairs that lift comparison `name`'s veto."""
        by_name = {c.name: c for c in self.comparisons}
        out = []
        for comparison, label in self.veto_lifts.get(name, ()):
            c = by_name[comparison]
            (index,) = [i for i, level in enumerate(c.levels) if level.label == label]
            out.append((comparison, c.gamma(index)))
        return out

    def hard_conflicts(self, gammas: Mapping[str, int]) -> list[str]:
        """Comparisons at a vetoing level that no decisive agreement lifts."""
        return [
            name
            for name, vetoed in self.vetoed_gammas().items()
            if gammas.get(name) in vetoed
            and not any(gammas.get(c) == g for c, g in self.lifting_gammas(name))
        ]

    def auto_merge_allowed(self, gammas: Mapping[str, int]) -> bool:
        """No hard conflict stands, and something about the person (not the household) is
        known on both sides, or an identifier of one person agrees."""
        unknown_person = bool(self.person_evidence) and all(
            gammas.get(n) == -1 for n in self.person_evidence
        )
        if unknown_person and not any(gammas.get(c) == g for c, g in self.lifting_gammas(PERSON)):
            return False
        return not self.hard_conflicts(gammas)

    def gammas(self, left: Record, right: Record) -> dict[str, int]:
        return {c.name: c.gamma(c.level_index(left, right)) for c in self.comparisons}

    def splink_settings(
        self, dialect: Dialect = "duckdb", link_type: str = "dedupe_only"
    ) -> dict[str, Any]:
        extra = (
            {"source_dataset_column_name": "source_dataset"} if link_type != "dedupe_only" else {}
        )
        return {
            **extra,
            "link_type": link_type,
            "unique_id_column_name": "unique_id",
            "probability_two_random_records_match": 1e-5,
            "comparisons": [c.splink(dialect) for c in self.comparisons],
            "blocking_rules_to_generate_predictions": [
                blocking_sql(rule) for rule in self.prediction_blocking
            ],
            "retain_intermediate_calculation_columns": True,
            "retain_matching_columns": True,
        }


def blocking_sql(rule: tuple[str, ...] | str) -> str:
    if isinstance(rule, str):
        return rule
    return " AND ".join(f'l."{c}" = r."{c}"' for c in rule)


def identity(value: Any) -> Any:
    return value


CUSTOMER_DERIVATIONS: tuple[Derivation, ...] = (
    ("first_name", "first_name", clean_name),
    ("first_name_canonical", "first_name", canonical_first_name),
    ("last_name", "last_name", clean_name),
    ("dob", "dob", clean_date),
    ("postcode", "postcode", clean_postcode),
    ("postcode_outward", "postcode", postcode_outward),
    ("street", "street", clean_text),
    ("city", "city", clean_text),
    ("email", "email", clean_email),
    ("email_local", "email", email_local),
    ("phone", "phone", clean_phone),
    ("phone_tail", "phone", phone_tail),
    ("account_number", "account_number", clean_account),
)


# Two records of one family, or two colleagues, share an address, an email or a phone line;
# what tells them apart is the name. So agreement on those shared things counts fully only
# when both names are compatible (same, nickname, close spelling, or swapped); otherwise it
# falls in its own level, whose weight EM learns (much weaker). Without this, Fellegi-Sunter's
# independence assumption adds up a household's address, surname and email (or a company's
# address and switchboard) and merges different people. A missing first name is not
# "compatible": a family member with no first name on file looks exactly like that.
NAMES_SWAPPED = AllOf(
    (
        JaroWinklerAtLeast("first_name", 0.88, other="last_name"),
        JaroWinklerAtLeast("last_name", 0.88, other="first_name"),
    )
)
NAMES_COMPATIBLE = AnyOf(
    (
        AllOf(
            (
                AnyOf(
                    (
                        Exact("first_name_canonical"),
                        JaroWinklerAtLeast("first_name", 0.85),
                    )
                ),
                JaroWinklerAtLeast("last_name", 0.85),
            )
        ),
        NAMES_SWAPPED,
    )
)


def _first_name() -> Comparison:
    return Comparison(
        "first_name",
        (
            Level("null", Null("first_name"), is_null=True),
            Level("exact", Exact("first_name")),
            Level("same canonical name (nickname)", Exact("first_name_canonical")),
            Level("Jaro-Winkler >= 0.92", JaroWinklerAtLeast("first_name", 0.92)),
            Level("Jaro-Winkler >= 0.80", JaroWinklerAtLeast("first_name", 0.80)),
            Level("one letter apart", LevenshteinAtMost("first_name", 1)),
            Level("first and last name swapped", NAMES_SWAPPED),
            Level("else", None, vetoes_auto_merge=True),
        ),
    )


def _last_name() -> Comparison:
    return Comparison(
        "last_name",
        (
            Level("null", Null("last_name"), is_null=True),
            Level("exact", Exact("last_name")),
            Level("Jaro-Winkler >= 0.92", JaroWinklerAtLeast("last_name", 0.92)),
            Level("Jaro-Winkler >= 0.80", JaroWinklerAtLeast("last_name", 0.80)),
            Level("first and last name swapped", NAMES_SWAPPED),
            Level("else", None),
        ),
    )


def _address() -> Comparison:
    """Postcode, street and city as one comparison (they are far from independent)."""
    same_home = AllOf((Exact("postcode"), JaroWinklerAtLeast("street", 0.9)))
    return Comparison(
        "address",
        (
            Level("null", AllOf((Null("postcode"), Null("street"))), is_null=True),
            Level("same postcode and street", AllOf((same_home, NAMES_COMPATIBLE))),
            Level("same postcode and street, other given name", same_home),
            Level("same postcode", Exact("postcode")),
            Level(
                "same street and city",
                AllOf((JaroWinklerAtLeast("street", 0.9), Exact("city"))),
            ),
            Level("same outward code", Exact("postcode_outward")),
            Level("same city", Exact("city")),
            Level("else", None),
        ),
    )


def _shared(column: str, *partial: tuple[str, Predicate]) -> Comparison:
    levels = [
        Level("null", Null(column), is_null=True),
        Level("exact", AllOf((Exact(column), NAMES_COMPATIBLE))),
        Level("exact, other given name (shared)", Exact(column)),
    ]
    levels += [Level(label, AllOf((when, NAMES_COMPATIBLE))) for label, when in partial]
    levels.append(Level("else", None))
    return Comparison(column, tuple(levels))


CUSTOMER_SPEC = Spec(
    name="customers",
    comparisons=(
        _first_name(),
        _last_name(),
        dates("dob", veto=True),
        _address(),
        # No "same local part" or fuzzy email levels: local parts are mostly made of the
        # name (andrew.smith@ at two providers is often two Andrew Smiths), which the name
        # comparisons already count.
        _shared("email"),
        _shared("phone"),
        exact_or_else("account_number"),
    ),
    derivations=CUSTOMER_DERIVATIONS,
    prediction_blocking=(
        ("dob",),
        'l."postcode" = r."postcode" AND substr(l."last_name", 1, 2) = substr(r."last_name", 1, 2)',
        ("email_block",),
        ("phone_block",),
        ("account_number",),
        ("first_name_canonical", "last_name"),
        'l."postcode_outward" = r."postcode_outward" AND l."street" = r."street"',
        ("first_name_canonical", "street"),
    ),
    # EM on pairs blocked by date of birth (learns everything but the date), then by full name
    # (learns the date). Not on email or address: those pairs are mostly families and
    # colleagues, and EM would learn "household" instead of "person".
    training_blocking=(
        ("dob",),
        ("first_name", "last_name"),
    ),
    deterministic_rules=(
        ("first_name", "last_name", "dob"),
        ("email_block", "dob"),
        ("phone_block", "first_name"),
    ),
    deterministic_recall=0.7,
    # A mobile number or an account number is one person's: with one of those agreeing, a
    # conflicting date of birth is a typo, not a relative. An account number also outweighs
    # a different given name (nobody shares an account with a twin).
    veto_lifts={
        "dob": (("phone", "exact"), ("account_number", "exact")),
        "first_name": (("account_number", "exact"),),
        PERSON: (("phone", "exact"), ("account_number", "exact")),
    },
    person_evidence=("first_name", "dob"),
    score_order=(
        "email",
        "phone",
        "account_number",
        "last_name",
        "first_name",
        "dob",
        "address",
    ),
    crowded_limit=20,
    crowded_columns=("email", "phone"),
)


def blocking_columns(spec: Spec, prepared: dict[str, list[Any]]) -> None:
    """Add `<column>_block`: the value, or None where more than `crowded_limit` share it.

    A switchboard number shared by a business's 200 contacts would make 20,000 pairs and says
    nothing about whether two of them are one person; it still counts in the comparison.
    """
    for column in spec.crowded_columns:
        values = prepared[column]
        counts: dict[Any, int] = {}
        for v in values:
            if v is not None:
                counts[v] = counts.get(v, 0) + 1
        limit = spec.crowded_limit
        prepared[f"{column}_block"] = [
            v if v is not None and counts[v] <= limit else None for v in values
        ]


def levels_table(spec: Spec, pairs: Iterable[tuple[Record, Record]]) -> list[list[int]]:
    return [spec.level_indexes(a, b) for a, b in pairs]
