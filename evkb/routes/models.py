"""Request bodies of the JSON API (limits from evkb.limits)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from evkb import limits as L
from evkb.service import Query


class Answer(BaseModel):
    ref: str = Field(
        max_length=L.MAX_ANSWER_REF, description="question ref (evidence or measurement id)"
    )
    value: str = Field(
        max_length=L.MAX_ANSWER_VALUE, description='"yes", "no", or a reading such as "482 ohm"'
    )


class DiagnoseIn(BaseModel):
    text: str = Field(max_length=L.MAX_TEXT, description="what the technician observes")
    error: str | None = Field(None, max_length=L.MAX_CODE, description="station or OCPP error code")
    model: str | None = Field(None, max_length=L.MAX_CODE, description="equipment model")
    answers: list[Answer] = Field(default_factory=list, max_length=L.MAX_ANSWERS)

    def query(self) -> Query:
        return Query(
            self.text, self.error, self.model, tuple((a.ref, a.value) for a in self.answers)
        )


class WorkOrderIn(DiagnoseIn):
    station: str = Field("", max_length=L.MAX_NAME)
    port: int | None = Field(None, ge=0, le=L.MAX_PORT)
    assignee: str = Field("", max_length=L.MAX_NAME)


class WorkOrderPatch(BaseModel):
    status: str | None = Field(
        None, description="open or assigned (close with /close, reopen with /reopen)"
    )
    assignee: str | None = Field(None, max_length=L.MAX_NAME)
    note: str | None = Field(None, max_length=L.MAX_NOTE)
    text: str | None = Field(
        None, max_length=L.MAX_TEXT, description="new observations: the diagnosis is redone"
    )
    reason: str | None = Field(
        None, max_length=L.MAX_NOTE, description="why, when reopening (status: open)"
    )


class ReopenIn(BaseModel):
    reason: str = Field(min_length=1, max_length=L.MAX_NOTE, description="why it is reopened")


class PartUsed(BaseModel):
    name: str = Field("", max_length=L.MAX_PART_NAME)
    serial: str = Field("", max_length=L.MAX_SERIAL)


class CloseIn(BaseModel):
    root_cause: str = Field(
        max_length=L.MAX_ROOT_CAUSE, description="cause id or title found on site"
    )
    parts: list[PartUsed] = Field(default_factory=list, max_length=L.MAX_PARTS)
    cable_length: str = Field("", max_length=L.MAX_CABLE)
    notes: str = Field("", max_length=L.MAX_NOTES)
    port: int | None = Field(None, ge=0, le=L.MAX_PORT)
    verified: list[Annotated[int, Field(ge=0, le=L.MAX_CHECKLIST)]] = Field(
        default_factory=list,
        max_length=L.MAX_CHECKLIST,
        description="indexes of the verification checklist items done "
        "(GET /api/workorders/{oid} lists them as `verification`); only a technician's "
        "closure with every item done counts in the repair history",
    )
