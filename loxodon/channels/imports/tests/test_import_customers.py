"""`loxodon import_customers`: a centre's export becomes customers with their identities."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from django.core.management.base import CommandError

from loxodon.channels.imports import services
from loxodon.channels.imports.parsing import tidy_name
from loxodon.channels.imports.tests.files import (
    HEADER,
    read_report,
    run,
    tables_checksum,
    write_csv,
)
from loxodon.customers.models import Account, Customer, Identity
from loxodon.customers.services import add_identity, create_customer
from loxodon.org.models import Site
from loxodon.org.services import create_site

pytestmark = pytest.mark.django_db

PRIYA = (
    "C-1001", "PRIYA", "SHARMA", "Priya.Sharma@Example.com", "07700 900123", "1984-03-12",
    "12  Mill Lane", "Leeds", "ls1 4ab", "acc-77120",
)  # fmt: skip
SEAN = ("C-1002", "seán", "o'neil", "", "+44 20 7946 0958", "", "", "Bristol", "BS1 6DG", "")
JOOST = ("C-1003", "Joost", "VAN DER BERG", "joost@example.nl", "", "", "", "", "", "")


def identities(customer: Customer) -> set[tuple[str, str, bool, str]]:
    return {(i.kind, i.value, i.verified, i.source) for i in customer.identities.all()}


def legacy_holder(value: str) -> Customer:
    return Identity.objects.get(kind="legacy", value=value).customer


def test_default_columns_make_one_customer_per_row_with_its_identities(
    site: Site, centre_file: Callable[..., Path]
) -> None:
    path = centre_file([PRIYA, SEAN, JOOST])

    out, _ = run("import_customers", path, "--site", "lon")

    assert "created 3, updated 0, unchanged 0, invalid 0" in out
    priya = legacy_holder("lon:C-1001")
    assert (priya.first_name, priya.last_name, priya.name) == ("Priya", "Sharma", "Priya Sharma")
    assert priya.date_of_birth == date(1984, 3, 12)
    assert (priya.street, priya.city, priya.postcode) == ("12 Mill Lane", "Leeds", "LS14AB")
    assert priya.home_site == site and priya.country == "GB"
    assert priya.profile_verified is False and priya.profile_updated_at is not None
    assert identities(priya) == {
        ("legacy", "lon:C-1001", True, "import:lon"),
        ("email", "priya.sharma@example.com", False, "import:lon"),
        ("phone", "+447700900123", False, "import:lon"),
        ("account_number", "ACC77120", False, "import:lon"),
    }
    assert legacy_holder("lon:C-1002").name == "Seán O'Neil"
    assert legacy_holder("lon:C-1003").name == "Joost van der Berg"
    # the importer never merges: no customer holds two legacy ids
    assert Customer.objects.count() == 3


@pytest.mark.parametrize(
    ("written", "first", "expected"),
    [
        ("  MCDONALD ", False, "McDonald"),
        ("o'neil", False, "O'Neil"),
        ("VAN  DER BERG", False, "van der Berg"),
        ("smith-JONES", False, "smith-JONES"),  # mixed case: kept as the centre wrote it
        ("ANNE-MARIE", True, "Anne-Marie"),
        ("DeVito", False, "DeVito"),
    ],
)
def test_names_get_sensible_capitals(written: str, first: bool, expected: str) -> None:
    assert tidy_name(written, surname=not first) == expected


def test_a_mapping_reads_other_headers_dates_regions_and_encodings(
    tmp_path: Path, db: None
) -> None:
    hamburg = create_site(code="ham", name="Hamburg", time_zone="Europe/Berlin", country="DE")
    path = write_csv(
        tmp_path / "hamburg.csv",
        [("H-17", "Jürgen", "Müller", "040 1234567", "14.02.1971", "KD 4711", "ignored")],
        header=("KundenNr", "Vorname", "Nachname", "Telefon", "Geburtsdatum", "Konto", "Notiz"),
        delimiter=";",
        encoding="cp1252",
    )
    mapping = tmp_path / "map.toml"
    mapping.write_text(
        'encoding = "cp1252"\ndelimiter = ";"\ndate_format = "%d.%m.%Y"\nphone_region = "AT"\n'
        "[columns]\n"
        'legacy_id = "KundenNr"\nfirst_name = "Vorname"\nlast_name = "Nachname"\n'
        'phone = "Telefon"\ndob = "Geburtsdatum"\naccount_number = "Konto"\n'
    )

    out, _ = run("import_customers", path, "--site", "ham", "--mapping", mapping)

    assert "created 1" in out
    jurgen = legacy_holder("ham:H-17")
    assert jurgen.name == "Jürgen Müller" and jurgen.home_site == hamburg
    assert jurgen.date_of_birth == date(1971, 2, 14)
    # the mapping's region (Austria, +43) wins over the site's country (Germany, +49)
    assert ("phone", "+43401234567", False, "import:ham") in identities(jurgen)
    assert ("account_number", "KD4711", False, "import:ham") in identities(jurgen)


def test_without_a_mapping_region_the_sites_country_reads_phone_numbers(
    tmp_path: Path, db: None
) -> None:
    create_site(code="ham", name="Hamburg", time_zone="Europe/Berlin", country="DE")
    path = write_csv(tmp_path / "c.csv", [("H-1", "Anke", "Schmidt", "", "0171 2345678")],
                     header=HEADER_5)  # fmt: skip
    run("import_customers", path, "--site", "ham")
    assert ("phone", "+491712345678", False, "import:ham") in identities(legacy_holder("ham:H-1"))


HEADER_5 = ("legacy_id", "first_name", "last_name", "email", "phone")


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ('colour = "blue"\n', "mapping: unknown key(s) colour"),
        ('[columns]\nshoe_size = "Schuh"\n', "unknown column 'shoe_size'"),
        ('[columns]\nemail = "E-Mail"\n', "the mapping puts column 'email' under the header "
         "'E-Mail', but the file has no such header"),
        ('phone_region = "XX"\n', "phone_region 'XX' is not a country code"),
        ('date_format = "dd.mm.yyyy"\n', "has no % directive"),
        ('encoding = "klingon"\n', "unknown encoding 'klingon'"),
        ("[columns\n", "is not valid TOML"),
    ],
)  # fmt: skip
def test_a_wrong_mapping_is_refused_before_anything_is_written(
    site: Site, centre_file: Callable[..., Path], tmp_path: Path, mapping: str, message: str
) -> None:
    path = centre_file([PRIYA])
    (tmp_path / "map.toml").write_text(mapping)

    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace(")", r"\)")):
        run("import_customers", path, "--site", "lon", "--mapping", tmp_path / "map.toml")
    assert not Customer.objects.exists()


def test_a_file_without_a_legacy_id_column_is_refused(
    site: Site, centre_file: Callable[..., Path]
) -> None:
    path = centre_file([("Priya", "Sharma")], header=("first_name", "last_name"))
    with pytest.raises(CommandError, match="has no column for legacy_id"):
        run("import_customers", path, "--site", "lon")


def test_unknown_site_is_refused(centre_file: Callable[..., Path], db: None) -> None:
    with pytest.raises(CommandError, match="no site with code 'nowhere'"):
        run("import_customers", centre_file([PRIYA]), "--site", "nowhere")


BAD_ROWS = [
    PRIYA,
    ("C-2", "Bad", "Email", "not-an-email", "", "", "", "", "", ""),
    ("C-3", "Bad", "Date", "", "", "1980-2-3", "", "", "", ""),
    ("", "No", "Legacy", "", "", "", "", "", "", ""),
    ("C-5", "Dup", "One", "bad@", "", "", "", "", "", ""),
    ("C-5", "Dup", "Two", "", "", "", "", "", "", ""),
    ("C-7", "Bad", "Phone", "", "12", "", "", "", "", ""),
    ("C-8", "", "", "", "", "2099-01-01", "", "", "", ""),
    SEAN,
]


def test_bad_rows_are_reported_precisely_and_nothing_is_written(
    site: Site, centre_file: Callable[..., Path]
) -> None:
    path = centre_file(BAD_ROWS)

    with pytest.raises(CommandError) as failure:
        run("import_customers", path, "--site", "lon")

    assert "7 invalid rows in centre.csv: nothing was imported" in str(failure.value)
    report = read_report(path.with_name("centre.errors.csv"))
    assert [(r["row"], r["legacy_id"], r["column"], r["value"]) for r in report] == [
        ("3", "C-2", "email", "not-an-email"),
        ("4", "C-3", "dob", "1980-2-3"),
        ("5", "", "legacy_id", ""),
        ("6", "C-5", "email", "bad@"),
        ("6", "C-5", "legacy_id", "C-5"),
        ("7", "C-5", "legacy_id", "C-5"),
        ("8", "C-7", "phone", "12"),
        ("9", "C-8", "dob", "2099-01-01"),
        ("9", "C-8", "last_name", ""),
    ]
    messages = [r["message"] for r in report]
    assert messages[0] == "is not a valid email address"
    assert messages[1] == "is not a date written %Y-%m-%d"
    assert messages[2].startswith("legacy_id is required")
    # row 7 alone is valid, but its legacy id is also on (invalid) row 6
    assert messages[4] == "the same legacy id is also on row 7"
    assert messages[5] == "the same legacy id is also on row 6"
    assert messages[6] == "is not a possible phone number"
    assert messages[7].startswith("is not a plausible date of birth")
    assert messages[8].startswith("a name is required")
    assert not Customer.objects.exists() and not Identity.objects.exists()


def test_skip_invalid_imports_the_valid_rows_and_reports_the_rest(
    site: Site, centre_file: Callable[..., Path], tmp_path: Path
) -> None:
    path = centre_file(BAD_ROWS)
    report = tmp_path / "problems.csv"

    out, err = run("import_customers", path, "--site", "lon", "--skip-invalid", "--errors", report)

    assert "created 2, updated 0, unchanged 0, invalid 7" in out
    assert f"warning: 7 invalid rows were skipped; see {report}" in err
    assert "row 3, email: 'not-an-email' is not a valid email address" in err
    assert len(read_report(report)) == 9
    assert {c.name for c in Customer.objects.all()} == {"Priya Sharma", "Seán O'Neil"}


def test_rerunning_the_same_file_changes_nothing(
    site: Site, centre_file: Callable[..., Path]
) -> None:
    path = centre_file([PRIYA, SEAN, JOOST])
    run("import_customers", path, "--site", "lon", "--batch-size", "2")
    before = tables_checksum()

    out, _ = run("import_customers", path, "--site", "lon", "--batch-size", "2")

    assert "created 0, updated 0, unchanged 3, invalid 0" in out
    assert tables_checksum() == before
    assert before[0] == (3, 8, 0, 3)


def test_a_changed_row_updates_what_the_centre_changed_and_adds_identifiers(
    site: Site, centre_file: Callable[..., Path]
) -> None:
    run("import_customers", centre_file([PRIYA, SEAN]), "--site", "lon")
    priya = legacy_holder("lon:C-1001")
    priya.street = "12 Mill Lane (side door)"  # an agent's correction since the import
    priya.save(update_fields=["street"])
    moved = (*PRIYA[:4], "07700 900999", PRIYA[5], PRIYA[6], "York", "YO1 7HH", PRIYA[9])

    out, _ = run("import_customers", centre_file([moved, SEAN]), "--site", "lon")

    assert "created 0, updated 1, unchanged 1, invalid 0" in out
    priya.refresh_from_db()
    assert (priya.city, priya.postcode) == ("York", "YO17HH")
    assert priya.street == "12 Mill Lane (side door)"  # the centre did not change it
    assert {(h["field"], h["value"], h["source"]) for h in priya.profile_history} == {
        ("city", "Leeds", "import:lon"),
        ("postcode", "LS14AB", "import:lon"),
    }
    phones = {i.value for i in priya.identities.filter(kind="phone")}
    assert phones == {"+447700900123", "+447700900999"}  # the old number is still hers
    assert Customer.objects.count() == 2


def test_dry_run_counts_and_writes_nothing(site: Site, centre_file: Callable[..., Path]) -> None:
    out, _ = run("import_customers", centre_file([PRIYA, SEAN]), "--site", "lon", "--dry-run")
    assert "created 2, updated 0, unchanged 0, invalid 0" in out
    assert "dry run: nothing written" in out
    assert not Customer.objects.exists()


def test_each_batch_is_all_or_nothing_and_a_rerun_completes_the_rest(
    site: Site, centre_file: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [(f"C-{n}", "Cust", f"Number{n}", f"c{n}@example.com") for n in range(5)]
    path = centre_file(rows, header=HEADER[:4])
    real_create = services._create_customers
    calls = []

    def crash_in_second_batch(*args: object, **kwargs: object) -> None:
        calls.append(1)
        real_create(*args, **kwargs)  # type: ignore[arg-type]
        if len(calls) == 2:
            raise RuntimeError("power cut")

    monkeypatch.setattr(services, "_create_customers", crash_in_second_batch)
    with pytest.raises(RuntimeError, match="power cut"):
        run("import_customers", path, "--site", "lon", "--batch-size", "2")

    # the first batch is committed whole; the second left nothing behind
    assert sorted(c.last_name for c in Customer.objects.all()) == ["Number0", "Number1"]
    assert Identity.objects.count() == 4
    monkeypatch.undo()

    out, _ = run("import_customers", path, "--site", "lon", "--batch-size", "2")

    assert "created 3, updated 0, unchanged 2, invalid 0" in out
    assert Customer.objects.count() == 5 and Identity.objects.count() == 10


def test_progress_and_summary_are_shown(site: Site, centre_file: Callable[..., Path]) -> None:
    out, err = run("import_customers", centre_file([PRIYA, SEAN]), "--site", "lon")
    assert "Checking" in err and "Importing" in err and "2/2" in err and "rows/s" in err
    assert "customers of lon from centre.csv: created 2" in out
    assert "rows in" in out


def test_a_legacy_id_known_from_elsewhere_updates_that_customer_instead_of_a_new_one(
    site: Site, centre_file: Callable[..., Path]
) -> None:
    known = create_customer(name="Priya Sharma", site=site)
    add_identity(customer=known, kind="legacy", value="lon:C-1001", verified=True)

    out, _ = run("import_customers", centre_file([PRIYA]), "--site", "lon")

    assert "created 0, updated 1, unchanged 0, invalid 0" in out
    assert Customer.objects.get() == known
    assert ("email", "priya.sharma@example.com", False, "import:lon") in identities(known)
    known.refresh_from_db()
    assert known.city == "Leeds" and known.date_of_birth == date(1984, 3, 12)
    again, _ = run("import_customers", centre_file([PRIYA]), "--site", "lon")
    assert "created 0, updated 0, unchanged 1, invalid 0" in again


def test_a_row_of_the_wrong_width_is_a_row_error(site: Site, tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text("legacy_id,first_name,last_name\nC-1,Priya,Sharma\nC-2,Daniel\n")

    with pytest.raises(CommandError, match="1 invalid rows"):
        run("import_customers", path, "--site", "lon")

    (error,) = read_report(tmp_path / "ragged.errors.csv")
    assert (error["row"], error["legacy_id"]) == ("3", "C-2")
    assert error["message"] == "the row has 2 fields but the header has 3"
    assert not Customer.objects.exists()


def test_a_file_in_another_encoding_without_a_mapping_is_refused_clearly(
    site: Site, centre_file: Callable[..., Path]
) -> None:
    path = centre_file([SEAN], encoding="cp1252")
    with pytest.raises(CommandError, match=r'is not UTF-8 text .* encoding = "cp1252"'):
        run("import_customers", path, "--site", "lon")


def test_a_missing_file_is_a_clear_error(site: Site, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match=r"no such file: .*nowhere\.csv"):
        run("import_customers", tmp_path / "nowhere.csv", "--site", "lon")


def test_a_company_column_puts_the_customer_in_that_business_account(
    site: Site, centre_file: Callable[..., Path]
) -> None:
    """Given a centre that records each customer's company (spelled with any capitals)
    When its export is imported, and imported again with one contact's company changed
    Then the contacts share one Account, and the change moves only that contact."""
    existing = Account.objects.create(name="Hargreaves Haulage Ltd", industry="Road freight")
    header = (*HEADER, "company")
    rows = [
        (*PRIYA, "HARGREAVES HAULAGE LTD"),
        (*SEAN, "Hargreaves  Haulage Ltd"),
        (*JOOST, ""),
    ]
    path = centre_file(rows, header=header)

    out, _ = run("import_customers", path, "--site", "lon")

    assert "created 3" in out
    assert legacy_holder("lon:C-1001").account == existing
    assert legacy_holder("lon:C-1002").account == existing
    assert legacy_holder("lon:C-1003").account is None
    assert Account.objects.count() == 1
    before = tables_checksum()
    run("import_customers", path, "--site", "lon")
    assert tables_checksum() == before  # the same file again changes nothing

    rows[1] = (*SEAN, "O'Neil Removals")
    out, _ = run("import_customers", centre_file(rows, header=header), "--site", "lon")

    assert "updated 1, unchanged 2" in out
    sean = legacy_holder("lon:C-1002")
    assert sean.account is not None and sean.account.name == "O'Neil Removals"
    assert legacy_holder("lon:C-1001").account == existing
    assert [h["field"] for h in sean.profile_history] == ["account"]


def test_a_company_name_longer_than_an_account_name_is_a_row_error(
    site: Site, centre_file: Callable[..., Path]
) -> None:
    path = centre_file([(*PRIYA, "X" * 201)], header=(*HEADER, "company"))
    with pytest.raises(CommandError):
        run("import_customers", path, "--site", "lon")
    (error,) = read_report(path.with_suffix(".errors.csv"))
    assert error["column"] == "company" and "longer than 200" in error["message"]
    assert not Customer.objects.exists()
