"""The demo's knowledge base: the answers every department and the portal give (story 3).

The refurbished-computers policy is the heart of story 3: its first version said every
refurbished unit gets driver support, which is why departments gave Margaret different answers;
version 2 names the supported operating systems and who may grant more.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from loxodon.knowledge.models import Article, Category
from loxodon.knowledge.services import archive_article, create_article, revise_article
from loxodon.org.models import User

CATEGORIES = {
    "orders": ("Orders and delivery", "Buying, delivery times, tracking"),
    "returns": ("Returns and refunds", "Sending things back, refunds, exchanges"),
    "warranty": ("Warranty and repairs", "Claims, repairs, replacement parts"),
    "refurbished": ("Refurbished computers", "Refurbished units, their warranty and support"),
    "troubleshooting": ("Troubleshooting", "Step-by-step fixes for common problems"),
    "business": ("Business customers", "Accounts, invoice terms, volume orders"),
    "procedures": ("How we work", "Internal procedures for everyone who talks to customers"),
}

REFURBISHED_V1 = """\
Refurbished computers come with a **12-month warranty** from the date of purchase.

Refurbished units get the same driver support as new ones.
"""

REFURBISHED_V2 = """\
Every refurbished computer we sell has been tested, cleaned and reinstalled by our workshop.

## Warranty
Refurbished computers come with a **12-month warranty** from the date of purchase. The warranty
covers hardware faults; accidental damage is not covered.

## Drivers and software support
We support drivers and software on the operating systems in the **supported list** below. A unit
running an older operating system (for example Windows 7) is outside the policy: we offer a free
upgrade to a supported version at any service centre instead.

| Supported operating systems |
|---|
| Windows 11 |
| Windows 10 |

:::phone
Read the customer the operating system from their installed product before you answer: it is on
the customer page. If it is not on the list, offer the free upgrade and book it at their nearest
centre. Going beyond the list is a policy exception: record it on the case.
:::

:::in_person
Check the operating system on the device itself (Settings → System → About) before you answer.
:::

:::web
You can book a free upgrade at your nearest service centre from your account.
:::
"""

RETURNS = """\
You can return anything you bought from us within **30 days** of delivery for a full refund,
as long as it is complete and undamaged.

1. Start the return from your account or call us.
2. Pack the item with everything that came in the box.
3. Take it to any service centre, or book a collection.

Refunds go back to the way you paid within 5 working days of us receiving the item.

:::phone
Check the delivery date on the customer's order before quoting the window.
:::

:::in_person
Inspect the item at the counter and print the returns receipt for the customer.
:::
"""

ARTICLES: list[dict[str, Any]] = [
    {
        "key": "returns",
        "title": "Returns and refunds",
        "slug": "returns-and-refunds",
        "category": "returns",
        "tags": ["returns", "refunds", "policy"],
        "audience": "public",
        "body": RETURNS,
        "review_days": 200,
        "policy": {
            "parameters": [
                {
                    "key": "return_window",
                    "label": "Return window",
                    "type": "days",
                    "value": 30,
                    "unit": "days",
                    "authority": {"agent": 15, "supervisor": 60},
                },
                {
                    "key": "opened_software_returnable",
                    "label": "Opened software can be returned",
                    "type": "boolean",
                    "value": False,
                    "authority": {"supervisor": 1},
                },
            ]
        },
    },
    {
        "key": "price-match",
        "title": "Price match promise",
        "category": "orders",
        "tags": ["prices", "policy"],
        "audience": "public",
        "body": "If you find the same product cheaper at a UK retailer within **14 days** of "
        "buying it from us, we refund the difference.\n\nSend us a link to the offer; we check "
        "that it is the same model, new, in stock and delivered to the UK.",
        "review_days": 90,
        "policy": {
            "parameters": [
                {
                    "key": "price_match_window",
                    "label": "Price match window",
                    "type": "days",
                    "value": 14,
                    "unit": "days",
                    "authority": {"agent": 7, "supervisor": 30},
                },
            ]
        },
    },
    {
        "key": "delivery",
        "title": "Delivery times and tracking",
        "category": "orders",
        "tags": ["delivery", "tracking"],
        "audience": "public",
        "body": "Standard delivery takes **2 to 4 working days**; next-day delivery is available "
        "for orders placed before 8 pm.\n\nYour tracking link arrives by email when the parcel "
        "leaves our warehouse.\n\n:::phone\nRead the tracking status from the shipment on the "
        "customer's timeline; don't ask for the order number if the timeline has it.\n:::\n",
        "review_days": 120,
    },
    {
        "key": "warranty-claims",
        "title": "Warranty claims: what we need from you",
        "category": "warranty",
        "tags": ["warranty", "repairs"],
        "audience": "public",
        "body": "To claim under warranty we need the product's serial number and a short "
        "description of the fault. Everything else — your purchase, your address, earlier "
        "calls — we already have.\n\n:::web\nStart a claim from the product in your account.\n"
        ":::\n\n:::phone\nThe serial number is on the installed product on the customer page; "
        "confirm it with the customer rather than asking for it.\n:::\n",
        "review_days": 150,
    },
    {
        "key": "no-power",
        "title": "Laptop will not power on",
        "category": "troubleshooting",
        "tags": ["laptop", "power", "battery", "bios"],
        "audience": "public",
        "body": "1. Plug in the original charger and check the charge light.\n2. Hold the power "
        "button for 30 seconds, then try again.\n3. Remove any USB devices and docks.\n4. If the "
        "charge light stays off, the adapter may be faulty; if it comes on but the laptop does "
        "not start, the battery or the main board needs a technician.\n\nStill not working? "
        "Contact us: we open one case and keep you updated until it is fixed.",
        "review_days": 180,
    },
    {
        "key": "battery",
        "title": "Battery replacement",
        "category": "warranty",
        "tags": ["battery", "parts", "repairs"],
        "audience": "public",
        "body": "Batteries are covered by the warranty for 12 months. After that we replace "
        "them at a fixed price at any service centre, usually while you wait.",
        "review_days": 240,
    },
    {
        "key": "windows-10",
        "title": "Windows 10 end of support",
        "category": "troubleshooting",
        "tags": ["windows", "os", "upgrade"],
        "audience": "public",
        "body": "Microsoft ended mainstream support for Windows 10. Your computer keeps working, "
        "and we still support drivers on it, but we recommend upgrading to Windows 11 where the "
        "hardware allows it.",
        "review_days": -20,  # overdue: flagged as stale in the desk
    },
    {
        "key": "invoice-terms",
        "title": "Business accounts: invoice terms",
        "category": "business",
        "tags": ["business", "invoices", "finance", "policy"],
        "audience": "internal",
        "body": "Business accounts pay on **30-day** invoice terms once finance has approved "
        "the account. Larger orders need a finance task on the case before the order is placed."
        "\n\nNever move a business customer to another team to place an order: add a task for "
        "sales and one for finance under the same case.",
        "review_days": 100,
        "policy": {
            "parameters": [
                {
                    "key": "invoice_terms",
                    "label": "Invoice terms",
                    "type": "days",
                    "value": 30,
                    "unit": "days",
                    "authority": {"supervisor": 30},
                },
            ]
        },
    },
    {
        "key": "verified-callers",
        "title": "Callers verified by the IVR",
        "category": "procedures",
        "tags": ["phone", "ivr", "verification"],
        "audience": "internal",
        "body": "When the screen pop says **Verified by IVR**, the caller has already given and "
        "confirmed their account number. Do not ask for it again, and do not repeat security "
        "questions.\n\nIf you need something the IVR did not take, say why you need it.",
        "review_days": 300,
    },
    {
        "key": "handoffs",
        "title": "Handing a case to a colleague",
        "category": "procedures",
        "tags": ["cases", "handoff"],
        "audience": "internal",
        "body": "A handoff needs context: what the customer wants, what has been tried, what "
        "you promised and by when. The customer should never have to repeat their story.\n\nYou "
        "stay accountable until the new owner accepts the case.",
        "review_days": 300,
    },
    {
        "key": "data-requests",
        "title": "Data protection requests",
        "category": "procedures",
        "tags": ["gdpr", "privacy"],
        "audience": "internal",
        "body": "Requests for a copy of personal data or for erasure go to the data protection "
        "team as a task on a case. Customers can download their own data from the portal.",
        "review_days": 200,
    },
    {
        "key": "windows-7-drivers",
        "title": "Installing drivers on Windows 7",
        "category": "troubleshooting",
        "tags": ["windows", "drivers", "os"],
        "audience": "public",
        "body": "Old instructions for Windows 7 driver packs.",
        "review_days": -400,
        "archive": "Windows 7 is no longer supported; see the refurbished computers policy.",
    },
]


@dataclass
class KnowledgeSeed:
    articles: dict[str, Article] = field(default_factory=dict)


def seed_knowledge(*, staff: dict[str, User], today: date) -> KnowledgeSeed:
    """Categories, articles (some with versions, channel sections and policies), one archived."""
    seed = KnowledgeSeed()
    categories = {
        key: Category.objects.create(name=name, slug=key, description=description)
        for key, (name, description) in CATEGORIES.items()
    }
    editor, admin = staff["supervisor"], staff["admin"]
    # Story 3's policy: version 1 is what the departments had been quoting.
    refurbished = create_article(
        by=admin,
        title="Refurbished computers: warranty and support",
        slug="refurbished-computers",
        body=REFURBISHED_V1,
        audience="public",
        category=categories["refurbished"],
        tags=["refurbished", "warranty", "drivers", "os"],
        review_by=today + timedelta(days=180),
        change_note="First version",
    )
    revise_article(
        article=refurbished,
        by=editor,
        title="Refurbished computers: warranty and supported operating systems",
        body=REFURBISHED_V2,
        change_note="Driver support only on supported operating systems; departments were "
        "giving different answers",
        policy={
            "parameters": [
                {
                    "key": "supported_os",
                    "label": "Supported operating systems",
                    "type": "list",
                    "value": ["Windows 11", "Windows 10"],
                    "authority": {"supervisor": 1},
                },
                {
                    "key": "refurbished_warranty",
                    "label": "Refurbished warranty",
                    "type": "days",
                    "value": 365,
                    "unit": "days",
                    "authority": {"agent": 30, "supervisor": 90},
                },
            ]
        },
    )
    seed.articles["refurbished"] = refurbished
    for spec in ARTICLES:
        article = create_article(
            by=editor,
            title=spec["title"],
            slug=spec.get("slug"),
            body=spec["body"],
            audience=spec["audience"],
            category=categories[spec["category"]],
            tags=spec["tags"],
            review_by=today + timedelta(days=spec["review_days"]),
            policy=spec.get("policy"),
        )
        if spec.get("archive"):
            archive_article(article=article, by=editor, reason=spec["archive"])
        seed.articles[spec["key"]] = article
    return seed
