"""Imports every model module so ``metadata`` is complete (Alembic and tests use it)."""
from casework.auth.models import User  # noqa: F401
from casework.cases.models import AccessEvent, Case, CaseEvent, CaseNumberCounter, CaseParticipant, IdempotencyKey  # noqa: F401
from casework.bulletins.models import Bulletin  # noqa: F401
from casework.db import Base
from casework.links.models import CaseLink  # noqa: F401
from casework.rectification.models import EvidenceFile, ProgressReport, RectificationItem  # noqa: F401
from casework.notifications.models import Notification, WebhookDelivery  # noqa: F401
from casework.outbox.models import OutboxMessage  # noqa: F401
from casework.sla.models import CalendarYear, CaseClock, Supervision  # noqa: F401
from casework.units.models import Unit  # noqa: F401

metadata = Base.metadata
