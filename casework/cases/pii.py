"""Petitioner data: encrypted at rest, masked in answers unless the caller's role needs it."""
from __future__ import annotations

from casework.auth.models import User
from casework.cases.models import AccessEvent, Case
from casework.cases.validators import mask_address, mask_id_number, mask_name, mask_phone, normalize_id_number
from casework.security import pii_box

FIELDS = ("name", "id_number", "phone", "address")
_MASKS = {"name": mask_name, "id_number": mask_id_number, "phone": mask_phone, "address": mask_address}
# Roles that handle the petitioner directly. Other roles in scope see masks.
FULL_VIEW_ROLES = frozenset({"clerk", "supervisor"})


def store_petitioner(case: Case, petitioner: dict | None) -> None:
    """Encrypt the petitioner's fields onto ``case`` and set the person blind index."""
    petitioner = petitioner or {}
    case.petitioner_name = pii_box.encrypt(petitioner.get("name"))
    case.petitioner_id_number = pii_box.encrypt(petitioner.get("id_number"))
    case.petitioner_phone = pii_box.encrypt(petitioner.get("phone"))
    case.petitioner_address = pii_box.encrypt(petitioner.get("address"))
    case.pii_key_id = pii_box.current_key_id if petitioner else None
    case.person_index = person_index(petitioner.get("id_number"))


def person_index(id_number: str | None) -> str | None:
    return pii_box.blind_index(normalize_id_number(id_number)) if id_number else None


def decrypt_petitioner(case: Case) -> dict[str, str | None]:
    return {
        "name": pii_box.decrypt(case.petitioner_name),
        "id_number": pii_box.decrypt(case.petitioner_id_number),
        "phone": pii_box.decrypt(case.petitioner_phone),
        "address": pii_box.decrypt(case.petitioner_address),
    }


def sees_full_petitioner(viewer: User, case: Case) -> bool:
    """The handling unit's clerks and supervisors work with the petitioner; others see masks."""
    return viewer.role in FULL_VIEW_ROLES and viewer.unit_code == case.handling_unit


def present_petitioner(*, session, case: Case, viewer: User, full_allowed: bool = True) -> dict | None:
    """The petitioner as this viewer may see it; a full read is recorded as an access event."""
    if case.anonymous and case.petitioner_name is None and case.petitioner_phone is None:
        return None
    clear = decrypt_petitioner(case)
    if full_allowed and sees_full_petitioner(viewer, case):
        shown = [f for f in ("id_number", "phone", "name", "address") if clear[f]]
        if shown:
            session.add(AccessEvent(user_id=viewer.id, case_id=case.id, fields=",".join(shown), purpose="case_read"))
        return clear
    return {field: _MASKS[field](clear[field]) for field in FIELDS}


def reencrypt(case: Case) -> bool:
    """Re-encrypt a case's fields under the current key (key rotation); True if it changed.

    A lead's reporter sits in the petitioner fields but must stay without a person index, and its accused's
    name is encrypted too: left under the old key, the lead could not be read once that key was dropped.
    """
    changed = False
    if case.pii_key_id not in (None, pii_box.current_key_id):
        store_petitioner(case, decrypt_petitioner(case))
        if case.kind == "lead":
            case.person_index = None
        changed = True
    if case.accused_name and pii_box.key_id_of(case.accused_name) != pii_box.current_key_id:
        case.accused_name = pii_box.encrypt(pii_box.decrypt(case.accused_name))
        changed = True
    return changed


def sees_reporter(viewer: User, case: Case) -> bool:
    """A lead's reporter is for the inspectors of the discipline unit that owns the lead, nobody else."""
    return viewer.role in ("inspector", "supervisor") and viewer.unit_code == case.handling_unit \
        and case.handling_unit.startswith("D")


def present_reporter(*, session, case: Case, viewer: User, full_allowed: bool = True) -> dict:
    """Everyone else learns only that a reporter exists (and whether they gave their name)."""
    exists = not case.anonymous
    if exists and full_allowed and sees_reporter(viewer, case):
        clear = decrypt_petitioner(case)
        session.add(AccessEvent(user_id=viewer.id, case_id=case.id, fields="reporter", purpose="lead_read"))
        return {"exists": True, "real_name": True, **clear}
    return {"exists": exists, "real_name": exists}
