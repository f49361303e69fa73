"""A realistic demo data set, so that a new user sees something at once: campaigns, prospects, activity,
opt-outs and a deleted-and-blocked address. Deterministic: the same seed gives the same data."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from storage.audit import Actor
from storage.campaigns import get_or_create_campaign
from storage.do_not_contact import mark_do_not_contact
from storage.keys import address_identity, search_key
from storage.models import Activity, Campaign, Membership, Prospect, utcnow
from storage.prospects import new_prospect_row
from storage.suppressions import block_unknown_address

DEMO_CAMPAIGNS = (
    "Demo · SaaS founders Q4",
    "Demo · Agencies Paris",
    "Demo · E-commerce CTOs",
    "Demo · Webinar follow-up",
    "Demo · Re-engagement 2026",
)
FIRST_NAMES = (
    "Amélie Ana Ben Camille Chloé Daniel David Elena Emma Farid Fatou Gabriel Hannah Hugo Inès Isaac Jade "
    "James Jean-Luc João Julia Karim Laura Léa Liam Lucas Maria Mateo Maya Mehdi Mia Nathan Noah Nora Olivia "
    "Omar Paul Priya Quentin Rafael Rosa Sacha Sam Sara Sofia Tom Victor Wei Yasmine Zoé"
).split()
LAST_NAMES = (
    "Adams Bernard Brown Chen Costa Da Silva Dubois Durand Fernández García Girard Haddad Jones Kim Kowalski "
    "Lambert Laurent Lefèvre Li Martin Mercier Moreau Müller Nguyen O'Brien Patel Petit Roux Schmidt Silva "
    "Smith Taylor Thomas Wagner Williams Wilson Yılmaz Zhang"
).split()
COMPANIES = (
    ("Acme Analytics", "acme-analytics.com"), ("Bluebird Studio", "bluebird.studio"), ("Cobalt Cloud", "cobalt.io"),
    ("Datalane", "datalane.co"), ("Elmwood Retail", "elmwood.shop"), ("Fjord Labs", "fjordlabs.no"),
    ("Granite HR", "granitehr.com"), ("Helios Energy", "helios-energy.de"), ("Indigo Payments", "indigopay.com"),
    ("Juniper Health", "juniper.health"), ("Kestrel Logistics", "kestrel.fr"), ("Lumen Media", "lumen.media"),
    ("Marlin Security", "marlinsec.com"), ("Northwind Traders", "northwind.example"), ("Orbit CRM", "orbitcrm.com"),
    ("Pixel Forge", "pixelforge.gg"), ("Quartz Legal", "quartz.legal"), ("Redwood Realty", "redwood.homes"),
    ("Saffron Foods", "saffron.food"), ("Tidal Marketing", "tidal.agency"), ("Umbra Design", "umbra.design"),
    ("Vertex Robotics", "vertexrobotics.ai"), ("Willow Insurance", "willow.insure"), ("Xenon Games", "xenon.games"),
    ("Yellowtail Travel", "yellowtail.travel"), ("Zephyr Mobility", "zephyr.bike"),
)
TITLES = (
    "CEO", "Founder", "Co-founder & CTO", "Head of Sales", "VP Marketing", "Growth Lead", "Operations Manager",
    "Head of Engineering", "Procurement Officer", "Marketing Director", "Sales Development Rep", "COO",
)


@dataclass(frozen=True)
class DemoSummary:
    already_loaded: bool
    campaigns: int = 0
    prospects: int = 0
    activities: int = 0
    do_not_contact: int = 0


def load_demo(session: Session, *, secret_key: bytes, prospects: int = 3_000, seed: int = 7) -> DemoSummary:
    actor = Actor("demo", "cli")
    if session.scalar(select(Campaign.id).where(Campaign.name == DEMO_CAMPAIGNS[0])) is not None:
        return DemoSummary(already_loaded=True)
    rng = random.Random(seed)
    now = utcnow()
    campaign_ids = [get_or_create_campaign(session, name, actor).id for name in DEMO_CAMPAIGNS]

    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    while len(rows) < prospects:
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        company, domain = rng.choice(COMPANIES)
        local = search_key(f"{first}.{last}").replace(" ", "").replace("'", "")
        email = f"{local}{rng.randint(1, 999) if rng.random() < 0.3 else ''}@{domain}"
        if email in seen:
            continue
        seen.add(email)
        values = {
            "email": email, "first_name": first, "last_name": last, "company": company, "title": rng.choice(TITLES),
            "phone": f"+33 6 {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)}"
            if rng.random() < 0.4 else "",
            "linkedin_url": (f"https://www.linkedin.com/in/{local}-{rng.randint(1000, 9999)}"
                             if rng.random() < 0.6 else ""),
        }
        created = now - dt.timedelta(days=rng.randint(5, 120))
        rows.append(new_prospect_row(values, address_identity(secret_key, email), source="demo", now=created))
    ids = list(session.scalars(insert(Prospect).returning(Prospect.id), rows))

    memberships, activities = [], []
    for prospect_id, row in zip(ids, rows, strict=True):
        for campaign_id in rng.sample(campaign_ids, k=rng.choice((1, 1, 1, 2, 2, 3))):
            added = row["created_at"] + dt.timedelta(days=rng.randint(0, 3))
            memberships.append({"campaign_id": campaign_id, "prospect_id": prospect_id, "status": "active",
                                "added_at": added})
            at = added
            for _step in range(rng.randint(0, 4)):
                at += dt.timedelta(days=rng.randint(2, 6), hours=rng.randint(0, 23))
                if at > now:
                    break
                activities.append({"campaign_id": campaign_id, "prospect_id": prospect_id, "kind": "sent",
                                   "occurred_at": at})
                if rng.random() < 0.02:
                    activities.append({"campaign_id": campaign_id, "prospect_id": prospect_id, "kind": "bounced",
                                       "occurred_at": at + dt.timedelta(minutes=2)})
                    memberships[-1]["status"] = "bounced"
                    break
                if rng.random() < 0.45:
                    activities.append({"campaign_id": campaign_id, "prospect_id": prospect_id, "kind": "opened",
                                       "occurred_at": at + dt.timedelta(hours=rng.randint(1, 30))})
                    if rng.random() < 0.15:
                        activities.append({"campaign_id": campaign_id, "prospect_id": prospect_id, "kind": "replied",
                                           "occurred_at": at + dt.timedelta(hours=rng.randint(2, 60))})
                        break
    session.execute(insert(Membership), memberships)
    session.execute(insert(Activity), activities)

    shuffled = ids[:]
    rng.shuffle(shuffled)
    dnc_plan = {"requested": 0.03, "not-target": 0.02, "no-interest": 0.02}
    start = 0
    marked = 0
    for reason, share in dnc_plan.items():
        batch = shuffled[start : start + int(len(ids) * share)]
        start += len(batch)
        marked += len(mark_do_not_contact(session, batch, reason=reason, actor=Actor("slack:U0DEMO", "slack")).marked)
    block_unknown_address(session, "former.customer@northwind.example", secret_key=secret_key, actor=actor)
    return DemoSummary(False, len(campaign_ids), len(ids), len(activities), marked)
