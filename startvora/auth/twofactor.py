"""Two-factor sign-in with TOTP (pyotp) and single-use recovery codes."""

from __future__ import annotations

import hashlib
import io
import secrets
import time

import pyotp
import segno
from sqlalchemy import or_, update
from sqlalchemy.orm.attributes import set_committed_value

from startvora.auth.models import RecoveryCode, User
from startvora.core.db import utcnow
from startvora.extensions import db

ISSUER = "Startvora"
RECOVERY_CODES = 10
STEP_S = 30


def start_enrolment(user: User) -> str:
    """Give the person a new, not yet active secret; returns it (base32) for the QR and text."""
    user.totp_secret = pyotp.random_base32()
    user.totp_enabled_at = None
    user.totp_last_step = None
    return user.totp_secret


def provisioning_uri(user: User) -> str:
    return pyotp.TOTP(user.totp_secret or "").provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The provisioning URI as an SVG QR code (no script, no style)."""
    out = io.BytesIO()
    segno.make(uri, error="m").save(
        out, kind="svg", border=2, xmldecl=False, svgns=True, omitsize=True, title="QR code"
    )
    return out.getvalue().decode()


def _matching_step(user: User, code: str) -> int | None:
    """The time step a code belongs to (one step either side allowed), if it matches at all."""
    code = code.replace(" ", "")
    if not (user.totp_secret and code.isascii() and code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(user.totp_secret)
    now_step = int(time.time()) // STEP_S
    for step in (now_step - 1, now_step, now_step + 1):
        if secrets.compare_digest(totp.at(step * STEP_S), code):
            return step
    return None


def _accept_totp(user: User, code: str) -> bool:
    step = _matching_step(user, code)
    if step is None:
        return False
    # pyotp itself would accept the same code twice; the last step used is remembered, and
    # moved forward by one conditional UPDATE so that two requests racing cannot both pass.
    moved = db.session.execute(
        update(User)
        .where(
            User.id == user.id,
            or_(User.totp_last_step.is_(None), User.totp_last_step < step),
        )
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    ).rowcount
    if moved != 1:
        return False
    set_committed_value(user, "totp_last_step", step)
    return True


def _hash_code(code: str) -> str:
    normalized = code.replace("-", "").replace(" ", "").lower()
    return hashlib.sha256(normalized.encode()).hexdigest()


def new_recovery_codes(user: User) -> list[str]:
    """Replace the person's recovery codes with 10 new ones; the plain codes are shown once."""
    db.session.execute(db.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = secrets.token_hex(5)  # 40 bits each, single use
        code = f"{raw[:5]}-{raw[5:]}"
        codes.append(code)
        db.session.add(RecoveryCode(user_id=user.id, code_hash=_hash_code(code)))
    db.session.flush()
    return codes


def confirm_enrolment(user: User, code: str) -> list[str] | None:
    """Turn 2FA on when the code matches the pending secret; the new recovery codes, or None."""
    if user.totp_enabled_at is not None or not _accept_totp(user, code):
        return None
    user.totp_enabled_at = utcnow()
    return new_recovery_codes(user)


def verify(user: User, code: str) -> str | None:
    """Check a sign-in code: "totp" or "recovery" for what matched, None for a wrong code."""
    if not user.has_2fa:
        return None
    if _accept_totp(user, code):
        return "totp"
    used = db.session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _hash_code(code),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    return "recovery" if used == 1 else None


def remaining_recovery_codes(user: User) -> int:
    return db.session.execute(
        db.select(db.func.count(RecoveryCode.id)).where(
            RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
        )
    ).scalar_one()


def disable(user: User, password: str, code: str) -> bool:
    """Turn 2FA off; needs the password and a current code (or a recovery code)."""
    if not user.check_password(password) or verify(user, code) is None:
        return False
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    db.session.execute(db.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    return True
