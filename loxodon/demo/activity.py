"""Generated customer activity: a history of plausible episodes on every channel.

A customer's history is a string of episodes (browsing the website, a purchase with its
shipment and invoice, a support call after the IVR, a chat, a return, a warranty claim...).
Each episode is a few steps spread over minutes or days. Everything is derived from one
random.Random, so the same seed gives the same events and the same external ids.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from loxodon.demo import catalogue
from loxodon.demo.world import SOURCE, DemoWorld, Person
from loxodon.timeline.services import EventDraft

# How often each kind of episode happens (relative weights).
EPISODE_WEIGHTS = {
    "browse": 30,
    "purchase": 14,
    "support": 14,
    "account_query": 10,
    "chat": 8,
    "sms": 6,
    "letter": 5,
    "visit": 5,
    "return": 4,
    "warranty": 4,
}
HISTORY_DAYS = 730
# Survey answers (docs/integrations/surveys.md): how an episode went shapes satisfaction (1-5);
# effort (1 very easy … 7 very hard) follows it; intent to buy again weighs the customer's
# sales *and* service experience so far (the "rings": sales by service experience → intent).
SATISFACTION_WEIGHTS = {True: (0, 1, 2, 5, 6), False: (4, 5, 3, 1, 0)}  # went well / not
INTENT_WEIGHTS = (  # (lowest experience score, weights of yes / maybe / no)
    (4.5, (85, 12, 3)),
    (3.5, (60, 30, 10)),
    (2.5, (25, 45, 30)),
    (0.0, (5, 30, 65)),
)
SURVEY_COMMENTS = {
    "good": (
        "Quick and friendly, thank you.",
        "Everything arrived as promised.",
        "The engineer explained everything clearly.",
        "Sorted first time.",
    ),
    "mixed": (
        "Got there in the end.",
        "Fine, but I had to chase twice.",
        "Took longer than I was told.",
    ),
    "bad": (
        "I had to explain the problem three times.",
        "Passed from department to department.",
        "Nobody called back when promised.",
        "Still not fixed properly.",
    ),
}
MAX_WEIGHT = 40.0  # caps the heaviest customer at several hundred events with the defaults


@dataclass(frozen=True)
class Step:
    """One event of an episode, `after` the episode began."""

    after: timedelta
    channel: str
    kind: str
    summary: str
    body: str = ""
    payload: dict[str, Any] = field(default_factory=dict)
    site: str | None = None
    actor: str | None = None


def event_counts(rng: random.Random, people: list[Person], total: int) -> list[int]:
    """Split `total` events over people with a long tail: most have a handful, a few hundreds.

    Log-normal weights (business customers weigh three times more); everyone gets at least one
    event when there are enough to go round.
    """
    n = len(people)
    if n == 0 or total <= 0:
        return [0] * n
    weights = [
        min(rng.lognormvariate(0.0, 1.3), MAX_WEIGHT) * (3.0 if p.business else 1.0) for p in people
    ]
    base = 1 if total >= n else 0
    spread = total - base * n
    scale = spread / sum(weights)
    counts = [base + math.floor(w * scale) for w in weights]
    for i in rng.choices(range(n), weights=weights, k=total - sum(counts)):
        counts[i] += 1
    return counts


class ActivityMaker:
    """Makes the episodes of one demo world's customers."""

    def __init__(self, world: DemoWorld) -> None:
        self.rng = world.rng
        self.now = world.now
        self.seed = world.seed
        self.site_codes = sorted(world.sites)
        self.site_names = {code: s.name for code, s in world.sites.items()}
        self.staff_by_department: dict[str, list[str]] = {}
        for user in world.staff.values():
            if user.department is not None:
                self.staff_by_department.setdefault(user.department.code, []).append(user.username)
        for usernames in self.staff_by_department.values():
            usernames.sort()
        self.sequence = 0
        # satisfaction remembered per customer and experience ("sales" / "service")
        self.experience: dict[Any, dict[str, int]] = {}
        self.episodes: dict[str, Callable[[Person], list[Step]]] = {
            "browse": self.browse,
            "purchase": self.purchase,
            "support": self.support,
            "account_query": self.account_query,
            "chat": self.chat,
            "sms": self.sms,
            "letter": self.letter,
            "visit": self.visit,
            "return": self.product_return,
            "warranty": self.warranty_claim,
        }
        self.episode_names = list(EPISODE_WEIGHTS)
        self.episode_weights = [EPISODE_WEIGHTS[name] for name in self.episode_names]

    # --- the whole history of a customer ---

    def drafts(self, person: Person, index: int, count: int) -> list[EventDraft]:
        """`count` events for one customer, with external ids unique to (seed, customer, n)."""
        rng = self.rng
        joined = self.now - timedelta(days=rng.uniform(14, HISTORY_DAYS))
        if count > 30:  # long histories go back to the start
            joined = self.now - timedelta(days=HISTORY_DAYS)
        moments: list[tuple[datetime, Step]] = []
        while len(moments) < count:
            name = rng.choices(self.episode_names, weights=self.episode_weights)[0]
            steps = self.episodes[name](person)
            span = max(s.after for s in steps)
            latest = self.now - span - timedelta(minutes=10)
            start = joined + (latest - joined) * rng.random() if latest > joined else latest
            start = start.replace(hour=rng.randint(8, 18), minute=rng.randint(0, 59))
            if start + span >= self.now:
                start = latest
            moments.extend((start + s.after, s) for s in steps)
        moments = sorted(moments[:count], key=lambda m: m[0])
        return [
            EventDraft(
                source=SOURCE,
                external_id=f"{self.seed}-{index}-{n}",
                channel=step.channel,
                kind=step.kind,
                occurred_at=at,
                summary=step.summary[:300],
                body=step.body,
                payload=step.payload,
                customer_id=person.customer.pk,
                site=step.site,
                actor=step.actor,
            )
            for n, (at, step) in enumerate(moments)
        ]

    # --- helpers ---

    def _next(self) -> int:
        self.sequence += 1
        return self.sequence

    def _staff(self, department: str) -> str | None:
        usernames = self.staff_by_department.get(department)
        return self.rng.choice(usernames) if usernames else None

    def _site(self, person: Person) -> str:
        """Mostly the customer's own centre; sometimes another one (people travel)."""
        if self.rng.random() < 0.8:
            return person.plan.site_code
        return self.rng.choice(self.site_codes)

    def _currency(self, person: Person) -> str:
        return "GBP" if person.customer.country in ("GB", "") else "EUR"

    @staticmethod
    def _minutes(n: float) -> timedelta:
        return timedelta(minutes=n)

    # --- episodes ---

    def browse(self, person: Person) -> list[Step]:
        rng = self.rng
        steps = []
        t = 0
        device = rng.choice(("desktop", "mobile", "tablet"))
        for _ in range(rng.randint(1, 4)):
            path = rng.choice(catalogue.WEB_PATHS)
            steps.append(
                Step(
                    self._minutes(t),
                    "web",
                    "web_visit",
                    f"Visited {path}",
                    payload={"path": path, "seconds": rng.randint(5, 400), "device": device},
                )
            )
            t += rng.randint(1, 6)
        if rng.random() < 0.6:
            query = rng.choice(catalogue.WEB_SEARCHES)
            steps.append(
                Step(
                    self._minutes(t),
                    "web",
                    "web_search",
                    f'Searched the website for "{query}"',
                    payload={"query": query, "results": rng.randint(0, 48), "device": device},
                )
            )
        return steps

    def purchase(self, person: Person) -> list[Step]:
        rng = self.rng
        product = rng.choice(catalogue.PRODUCTS)
        quantity = rng.randint(2, 25) if person.business and rng.random() < 0.6 else 1
        currency = self._currency(person)
        unit_price = product.price
        line: dict[str, Any] = {"product": product.name, "quantity": quantity}
        steps = []
        t = timedelta(0)
        if product.category in ("laptop", "desktop") and rng.random() < 0.6:
            memory = rng.choice((8, 16, 32))
            storage = rng.choice(("256GB", "512GB", "1TB"))
            configuration = f"{product.name}, {memory}GB, {storage}"
            unit_price += (memory - 8) * 6 + {"256GB": 0, "512GB": 60, "1TB": 150}[storage]
            line["configuration"] = configuration
            steps.append(
                Step(
                    t,
                    "web",
                    "web_configuration",
                    f"Configured {configuration} on the web",
                    payload={
                        "product": product.name,
                        "configuration": configuration,
                        "memory_gb": memory,
                        "storage": f"{storage} SSD",
                        "quantity": quantity,
                        "unit_price": unit_price,
                        "currency": currency,
                    },
                )
            )
            t += self._minutes(rng.randint(5, 2 * 24 * 60))
        line["unit_price"] = unit_price
        total = unit_price * quantity
        order = f"SO-{400000 + self._next()}"
        via = rng.choices(("web", "phone", "in_person"), weights=(5, 3, 2))[0]
        sales = "sales-business" if person.business else "sales-consumer"
        site = self._site(person) if via != "web" else None
        actor = self._staff(sales) if via != "web" else None
        what = f"{quantity} x {product.name}" if quantity > 1 else product.name
        steps.append(
            Step(
                t,
                via,
                "order",
                f"Order {order}: {what} ({currency} {total:,})",
                payload={
                    "order_number": order,
                    "lines": [line],
                    "total": total,
                    "currency": currency,
                    "placed_via": via,
                },
                site=site,
                actor=actor,
            )
        )
        shipped = t + timedelta(days=rng.randint(1, 4), hours=rng.randint(0, 6))
        carrier = rng.choice(catalogue.CARRIERS)
        if rng.random() < 0.5:
            steps.append(
                Step(
                    shipped - timedelta(hours=20),
                    "sms",
                    "message",
                    f"SMS: order {order} dispatched with {carrier}",
                    body=f"Your order {order} has been dispatched with {carrier}.",
                    payload={"direction": "outbound", "order_number": order},
                )
            )
        steps.append(
            Step(
                shipped,
                "system",
                "shipment",
                f"Order {order} delivered by {carrier}",
                payload={
                    "order_number": order,
                    "carrier": carrier,
                    "tracking_number": f"{carrier[:2].upper()}{rng.randint(10**9, 10**10 - 1)}",
                    "status": "delivered",
                },
            )
        )
        invoice = f"INV-{700000 + self._next()}"
        by_letter = person.business and rng.random() < 0.3
        steps.append(
            Step(
                t + self._minutes(30),
                "letter" if by_letter else "email",
                "invoice",
                f"Invoice {invoice} for order {order}: {currency} {total:,}",
                payload={
                    "invoice_number": invoice,
                    "order_number": order,
                    "amount": total,
                    "currency": currency,
                    "terms_days": 30 if person.business else 0,
                },
            )
        )
        if rng.random() < 0.45:
            steps.append(self._survey(shipped + timedelta(days=7), "sales", person, 0.8))
        return steps

    def _survey(self, after: timedelta, touchpoint: str, person: Person, went_well: float) -> Step:
        """A survey answered about one touchpoint, in the canonical payload."""
        rng = self.rng
        good = rng.random() < went_well
        satisfaction = rng.choices((1, 2, 3, 4, 5), weights=SATISFACTION_WEIGHTS[good])[0]
        effort = max(1, min(7, round(7 - 1.5 * (satisfaction - 1)) + rng.randint(-1, 1)))
        remembered = self.experience.setdefault(person.customer.pk, {})
        remembered["sales" if touchpoint == "sales" else "service"] = satisfaction
        scores = list(remembered.values())
        experience = (min(scores) + sum(scores) / len(scores)) / 2  # the worst weighs double
        weights = next(w for floor, w in INTENT_WEIGHTS if experience >= floor)
        intent = rng.choices(("yes", "maybe", "no"), weights=weights)[0]
        comment = ""
        if rng.random() < 0.4:
            band = "good" if satisfaction >= 4 else "mixed" if satisfaction == 3 else "bad"
            comment = rng.choice(SURVEY_COMMENTS[band])
        return Step(
            after,
            "email",
            "survey",
            f"Survey ({touchpoint}): satisfaction {satisfaction}/5, effort {effort}/7, "
            f"would buy again: {intent}",
            body=comment,
            payload={
                "touchpoint": touchpoint,
                "satisfaction": satisfaction,
                "effort": effort,
                "intent": intent,
                "comment": comment,
            },
        )

    def support(self, person: Person) -> list[Step]:
        rng = self.rng
        topic = rng.choice(catalogue.SUPPORT_TOPICS)
        department = (
            "support-software"
            if any(w in topic for w in ("driver", "update", "Windows", "Teams", "BIOS", "Wi-Fi"))
            else "support-hardware"
        )
        steps = []
        t = timedelta(0)
        if rng.random() < 0.5:
            verified = person.plan.account_number is not None and rng.random() < 0.8
            steps.append(
                Step(
                    t,
                    "ivr",
                    "call",
                    "IVR: technical support" + (", account verified" if verified else ""),
                    payload={
                        "account_number_entered": person.plan.account_number if verified else None,
                        "verified": verified,
                        "intent": "technical support",
                        "menu_path": ["2", "1" if department == "support-software" else "2"],
                    },
                )
            )
            t += self._minutes(rng.randint(1, 4))
        agent = self._staff(department)
        minutes = rng.randint(3, 45)
        outcome = rng.choice(
            (
                "Talked the customer through a fix; working at the end of the call.",
                "Could not fix on the phone; asked the customer to bring it in.",
                "Sent instructions by email.",
                "Logged for a call-back from a specialist.",
            )
        )
        steps.append(
            Step(
                t,
                "phone",
                "call",
                f"Call: {topic}",
                body=f"{topic}. {outcome}",
                payload={
                    "direction": "inbound",
                    "queue": department,
                    "duration_seconds": minutes * 60 + rng.randint(0, 59),
                },
                site=self._site(person),
                actor=agent,
            )
        )
        if rng.random() < 0.4:
            steps.append(
                Step(
                    t + self._minutes(rng.randint(20, 240)),
                    "email",
                    "message",
                    f"Email to customer: Re: {topic}",
                    body=f"Dear {person.first_name},\n\nAs promised on the phone, here are the "
                    "steps we discussed.\n\nKind regards",
                    payload={"direction": "outbound", "subject": f"Re: {topic}"},
                    actor=agent,
                )
            )
        if rng.random() < 0.3:
            fixed = outcome.startswith("Talked") or outcome.startswith("Sent")
            steps.append(
                self._survey(t + timedelta(days=2), "support", person, 0.85 if fixed else 0.5)
            )
        return steps

    def account_query(self, person: Person) -> list[Step]:
        rng = self.rng
        topic = rng.choice(catalogue.ACCOUNT_TOPICS)
        via = rng.choices(("email", "phone", "letter"), weights=(6, 4, 1))[0]
        if via == "phone":
            first = Step(
                timedelta(0),
                "phone",
                "call",
                f"Call: {topic}",
                body=topic + ".",
                payload={"direction": "inbound", "duration_seconds": rng.randint(60, 900)},
                site=self._site(person),
                actor=self._staff("finance" if "invoice" in topic.lower() else "sales-consumer"),
            )
        else:
            first = Step(
                timedelta(0),
                via,
                "message",
                f"{'Email' if via == 'email' else 'Letter'} from customer: {topic}",
                body=f"Hello,\n\n{topic}. Could you help?\n\n{person.customer.name}",
                payload={"direction": "inbound", "subject": topic},
            )
        steps = [first]
        if via != "phone" and rng.random() < 0.7:
            steps.append(
                Step(
                    self._minutes(rng.randint(30, 3 * 24 * 60)),
                    "email",
                    "message",
                    f"Email to customer: Re: {topic}",
                    body=f"Dear {person.first_name},\n\nThank you for getting in touch. "
                    "This is now sorted.\n\nKind regards",
                    payload={"direction": "outbound", "subject": f"Re: {topic}"},
                    actor=self._staff("finance"),
                )
            )
        return steps

    def chat(self, person: Person) -> list[Step]:
        rng = self.rng
        opener = rng.choice(catalogue.CHAT_OPENERS)
        agent = self._staff("sales-consumer")
        return [
            Step(
                timedelta(0),
                "chat",
                "chat",
                f"Web chat: {opener}",
                body=f"Customer: {opener}\nAgent: Let me check that for you.\n"
                "Agent: Done — anything else?\nCustomer: No, thanks!",
                payload={
                    "visitor_id": f"v-{self.seed}-{self._next()}",
                    "messages": rng.randint(4, 30),
                    "agent": agent,
                },
                actor=agent,
            )
        ]

    def sms(self, person: Person) -> list[Step]:
        rng = self.rng
        text = rng.choice(catalogue.SMS_TEXTS).format(
            order=f"SO-{400000 + self._next()}",
            carrier=rng.choice(catalogue.CARRIERS),
            site=self.site_names[person.plan.site_code],
        )
        return [
            Step(
                timedelta(0),
                "sms",
                "message",
                f"SMS: {text}",
                body=text,
                payload={"direction": "outbound"},
            )
        ]

    def letter(self, person: Person) -> list[Step]:
        rng = self.rng
        subject = rng.choice(catalogue.LETTER_SUBJECTS)
        if "statement" in subject or "overdue" in subject:
            amount = rng.randint(40, 4000)
            return [
                Step(
                    timedelta(0),
                    "letter",
                    "invoice",
                    f"Letter: {subject} ({self._currency(person)} {amount:,})",
                    payload={
                        "invoice_number": f"ST-{800000 + self._next()}",
                        "amount": amount,
                        "currency": self._currency(person),
                        "status": "overdue" if "overdue" in subject else "issued",
                    },
                )
            ]
        return [
            Step(
                timedelta(0),
                "letter",
                "message",
                f"Letter: {subject}",
                body=f"Dear {person.customer.name},\n\n{subject}. Please keep this letter.",
                payload={"direction": "outbound", "subject": subject},
            )
        ]

    def visit(self, person: Person) -> list[Step]:
        rng = self.rng
        site = self._site(person)
        reason = rng.choice(
            (
                "dropped off a laptop for repair",
                "collected a repaired printer",
                "asked for advice on a new laptop",
                "returned a faulty power adapter",
                "picked up an order",
            )
        )
        department = "support-hardware" if "repair" in reason else "sales-consumer"
        wait = rng.randint(0, 40)
        steps = [
            Step(
                timedelta(0),
                "in_person",
                "visit",
                f"Visited the {self.site_names[site]} service centre: {reason}",
                payload={"reason": reason, "wait_minutes": wait},
                site=site,
                actor=self._staff(department),
            )
        ]
        if "repair" in reason and rng.random() < 0.45:
            steps.append(self._survey(timedelta(days=3), "service", person, 0.85 - wait / 100))
        return steps

    def product_return(self, person: Person) -> list[Step]:
        rng = self.rng
        product = rng.choice(catalogue.PRODUCTS)
        rma = f"RMA-{500000 + self._next()}"
        reason = rng.choice(
            ("faulty on arrival", "wrong item sent", "no longer needed", "not compatible")
        )
        via = rng.choice(("web", "in_person", "phone"))
        currency = self._currency(person)
        carrier = rng.choice(catalogue.CARRIERS)
        credit_note = f"CN-{600000 + self._next()}"
        refunded_after = timedelta(days=rng.randint(4, 8))
        steps = [
            Step(
                timedelta(0),
                via,
                "return",
                f"Return {rma}: {product.name} ({reason})",
                payload={"return_number": rma, "product": product.name, "reason": reason},
                site=self._site(person) if via != "web" else None,
                actor=self._staff("sales-consumer") if via != "web" else None,
            ),
            Step(
                timedelta(days=rng.randint(1, 3)),
                "system",
                "shipment",
                f"Return {rma} collected by {carrier}",
                payload={"return_number": rma, "carrier": carrier, "status": "collected"},
            ),
            Step(
                refunded_after,
                "email",
                "invoice",
                f"Credit note {credit_note}: {currency} {product.price:,} refunded",
                payload={
                    "invoice_number": credit_note,
                    "return_number": rma,
                    "amount": -product.price,
                    "currency": currency,
                    "status": "credited",
                },
            ),
        ]
        if rng.random() < 0.4:
            went_well = 0.5 if reason in ("faulty on arrival", "wrong item sent") else 0.75
            steps.append(
                self._survey(refunded_after + timedelta(days=2), "service", person, went_well)
            )
        return steps

    def warranty_claim(self, person: Person) -> list[Step]:
        rng = self.rng
        product = rng.choice([p for p in catalogue.PRODUCTS if p.category != "accessory"])
        claim = f"WC-{300000 + self._next()}"
        outcome = rng.choices(("approved", "rejected: accidental damage"), weights=(5, 1))[0]
        steps = [
            Step(
                timedelta(0),
                "system",
                "warranty",
                f"Warranty claim {claim} for {product.name}: {outcome}",
                payload={
                    "type": "claim",
                    "claim_number": claim,
                    "product": product.name,
                    "outcome": outcome,
                },
            )
        ]
        if rng.random() < 0.3:
            steps.append(
                Step(
                    timedelta(days=2),
                    "letter",
                    "message",
                    f"Letter: warranty claim {claim} decision",
                    body=f"Your warranty claim {claim} was {outcome}.",
                    payload={"direction": "outbound", "claim_number": claim},
                )
            )
        if rng.random() < 0.45:
            went_well = 0.8 if outcome == "approved" else 0.15
            steps.append(self._survey(timedelta(days=5), "service", person, went_well))
        return steps


def activity_drafts(world: DemoWorld, people: list[Person], total: int) -> Iterator[EventDraft]:
    """Every generated event for `people`, customer by customer."""
    maker = ActivityMaker(world)
    for index, (person, count) in enumerate(
        zip(people, event_counts(world.rng, people, total), strict=True)
    ):
        if count:
            yield from maker.drafts(person, index, count)
