"""Demo people for an organization: a team with every role."""

from __future__ import annotations

import datetime as dt
import random

from startvora.auth.models import User
from startvora.core.db import utcnow
from startvora.core.text import slugify
from startvora.extensions import db
from startvora.orgs import services
from startvora.orgs.models import Organization

FIRST = (
    "Ada",
    "Alan",
    "Amara",
    "Ana",
    "Ben",
    "Chen",
    "Chloé",
    "Dara",
    "Eitan",
    "Elena",
    "Farah",
    "Felix",
    "Grace",
    "Hana",
    "Ines",
    "Ivan",
    "Jonas",
    "Kofi",
    "Lena",
    "Liam",
    "Lucía",
    "Maya",
    "Mateo",
    "Nadia",
    "Noah",
    "Olga",
    "Omar",
    "Priya",
    "Rafael",
    "Sara",
    "Søren",
    "Tariq",
    "Uma",
    "Victor",
    "Wen",
    "Yara",
    "Yusuf",
    "Zoe",
)
LAST = (
    "Abara",
    "Berger",
    "Costa",
    "Dubois",
    "Eriksen",
    "Fischer",
    "García",
    "Haddad",
    "Ito",
    "Jensen",
    "Kowalski",
    "Laine",
    "Moreau",
    "Nakamura",
    "Okafor",
    "Petrov",
    "Quinn",
    "Rossi",
    "Santos",
    "Tanaka",
    "Umarov",
    "Varga",
    "Weber",
    "Xu",
    "Yilmaz",
    "Zhang",
)
ROLE_MIX = ("member",) * 6 + ("manager",) * 2 + ("viewer", "accountant", "admin")
SIZES = {"small": 14, "large": 2000}


def members(org: Organization, owner: User, size: str, rng: random.Random) -> dict[str, int]:
    """Add a team of people with mixed roles; only the owner's password is known."""
    count = SIZES[size]
    domain = f"{org.slug}.example.com"
    existing = set(db.session.execute(db.select(User.email)).scalars())
    now = utcnow()
    # One random, unknown password hash shared by every demo person keeps `large` fast.
    placeholder = User(email="", name="", password_hash="")
    placeholder.set_password(f"{rng.getrandbits(128):032x}")
    added = 0
    for i in range(count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        email = f"{slugify(first)}.{slugify(last)}.{i}@{domain}"
        if email in existing:
            continue
        user = User(email=email, name=f"{first} {last}", password_hash=placeholder.password_hash)
        db.session.add(user)
        db.session.flush()
        membership = services.add_member(org, user, rng.choice(ROLE_MIX))
        membership.created_at = now - dt.timedelta(days=rng.randint(1, 400), minutes=i)
        added += 1
    return {"members": added}
