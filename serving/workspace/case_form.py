"""The new-case form, generated from the data contract and read back into a ``/score`` body.

Fields come from ``extract.contract.TABLES`` and the single-case model
(``features.single_case``): the person's columns, then one table of records per
event table, each column an input of its kind (a category is a choice of the
contract's values). Form field names carry where a value belongs
(``person-birth_month``, ``police_contacts-2-occurred_on``), so a problem the
API reports for ``police_contacts[2].occurred_on`` lands beside that input.
Rows are added and removed by submit buttons that re-render the form, so the
form needs no JavaScript.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from extract.contract import EVENT_TABLES, PROTECTED_ATTRIBUTES, TABLES, ColumnSpec
from serving.case_scoring import CaseProblem

MAX_ROWS = 50
ROWS_SUFFIX = "rows"
ERR_TOO_MANY_ROWS = "at most {limit} records of one kind in the form; upload the case as JSON"
ERR_NOT_A_CASE = "the file must hold one case as a JSON object (the POST /score body)"
AUDIT_ONLY = tuple(c for c in PROTECTED_ATTRIBUTES if c in TABLES["people"].column_names)
_MONTH = re.compile(r"^\d{4}-\d{2}$")
_FIELD_PREFIX = re.compile(r"^([a-z_]+(?:\.[a-z_]+|\[\d+\]\.[a-z_]+)?)\s*:\s*(.*)$")

LABELS = {
    "person_id": "Case reference (pseudonymised id)",
    "birth_month": "Month of birth",
    "imd_decile": "Deprivation decile of home address (1 most deprived to 10; blank if not known)",
    "local_authority": "Local authority",
    "sex": "Sex",
    "ethnicity": "Ethnicity",
    "sen": "Special educational needs",
}


@dataclass(frozen=True)
class FormField:
    """One input: its form name, label, kind and choices."""

    name: str
    label: str
    kind: str
    required: bool
    choices: tuple[str, ...] = ()
    hint: str = ""

    @property
    def input_type(self) -> str:
        if self.kind == "date":
            return "month" if self.name.endswith("birth_month") else "date"
        return "number" if self.kind in ("int", "number") else "text"


@dataclass
class CaseForm:
    """What the practitioner typed (kept as text), the rows per table and the problems found."""

    values: dict[str, str] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=lambda: dict.fromkeys(EVENT_TABLES, 0))
    errors: dict[str, list[str]] = field(default_factory=dict)
    general_errors: list[str] = field(default_factory=list)

    def value(self, name: str) -> str:
        return self.values.get(name, "")

    def add_error(self, name: str | None, message: str) -> None:
        if name is None or not self.has_field(name):
            self.general_errors.append(message)
        else:
            self.errors.setdefault(name, []).append(message)

    def has_field(self, name: str) -> bool:
        if name == "as_of" or name.startswith("person-"):
            return True
        parts = name.split("-")
        return (
            len(parts) == 3 and parts[0] in self.rows and parts[1].isdigit()
            and int(parts[1]) < self.rows[parts[0]]
        )


def label(column: str) -> str:
    return LABELS.get(column, column.replace("_", " ").capitalize())


def _field(name: str, col: ColumnSpec) -> FormField:
    return FormField(name, label(col.name), col.kind, not col.nullable, col.categories, col.description)


def person_fields() -> tuple[list[FormField], list[FormField]]:
    """The person's fields used by the score, and those asked for the fairness audit only."""
    people = TABLES["people"]
    used = [_field(f"person-{c.name}", c) for c in people.columns if c.name not in AUDIT_ONLY]
    audit = [_field(f"person-{c.name}", c) for c in people.columns if c.name in AUDIT_ONLY]
    return used, audit


def record_columns(table: str) -> list[ColumnSpec]:
    return [c for c in TABLES[table].columns if c.name != "person_id"]


def record_field(table: str, row: int, col: ColumnSpec) -> FormField:
    return _field(f"{table}-{row}-{col.name}", col)


def read_form(data: Mapping[str, str]) -> tuple[CaseForm, str]:
    """The form's state from posted fields and the button pressed (``action``).

    Only known field names are kept; row counts are clamped to 0..MAX_ROWS.
    """
    form = CaseForm()
    for table in EVENT_TABLES:
        text = str(data.get(f"{table}-{ROWS_SUFFIX}", "0"))
        form.rows[table] = min(int(text), MAX_ROWS) if text.isdigit() else 0
    names = {"as_of", *(f.name for f in sum(person_fields(), []))}
    for table, count in form.rows.items():
        names |= {f"{table}-{i}-{c.name}" for i in range(count) for c in record_columns(table)}
    form.values = {name: str(data[name]) for name in names if name in data}
    return form, str(data.get("action", "score"))


def apply_action(form: CaseForm, action: str) -> bool:
    """Add or remove a row for ``add:TABLE`` / ``remove:TABLE:N``; True when it was one."""
    parts = action.split(":")
    if len(parts) == 2 and parts[0] == "add" and parts[1] in form.rows:
        if form.rows[parts[1]] >= MAX_ROWS:
            form.general_errors.append(ERR_TOO_MANY_ROWS.format(limit=MAX_ROWS))
        else:
            form.rows[parts[1]] += 1
        return True
    if len(parts) == 3 and parts[0] == "remove" and parts[1] in form.rows and parts[2].isdigit():
        table, gone = parts[1], int(parts[2])
        count = form.rows[table]
        if gone < count:
            # Later rows move up one place, keeping what was typed in them.
            for i in range(gone, count - 1):
                for col in record_columns(table):
                    later = form.values.pop(f"{table}-{i + 1}-{col.name}", None)
                    form.values.pop(f"{table}-{i}-{col.name}", None)
                    if later is not None:
                        form.values[f"{table}-{i}-{col.name}"] = later
            for col in record_columns(table):
                form.values.pop(f"{table}-{count - 1}-{col.name}", None)
            form.rows[table] = count - 1
        return True
    return False


def to_case(form: CaseForm) -> dict[str, Any]:
    """The ``/score`` body the form describes (values as JSON would carry them)."""
    used, audit = person_fields()
    person = {f.name.split("-", 1)[1]: _json_value(f, form.value(f.name)) for f in used + audit}
    case: dict[str, Any] = {"as_of": form.value("as_of"), "person": person}
    for table, count in form.rows.items():
        case[table] = [
            {
                c.name: _json_value(record_field(table, i, c), form.value(f"{table}-{i}-{c.name}"))
                for c in record_columns(table)
            }
            for i in range(count)
        ]
    return case


def from_case(data: object) -> CaseForm:
    """A form showing an uploaded case (valid or not), so its problems can be shown in place."""
    form = CaseForm()
    if not isinstance(data, dict):
        form.general_errors.append(ERR_NOT_A_CASE)
        return form
    form.values["as_of"] = _text(data.get("as_of"))
    person = data.get("person")
    if isinstance(person, dict):
        for f in sum(person_fields(), []):
            column = f.name.split("-", 1)[1]
            text = _text(person.get(column))
            form.values[f.name] = text[:7] if column == "birth_month" and len(text) == 10 else text
    for table in EVENT_TABLES:
        records = data.get(table)
        if not isinstance(records, list):
            continue
        records = [r for r in records if isinstance(r, dict)][:MAX_ROWS]
        form.rows[table] = len(records)
        for i, record in enumerate(records):
            for col in record_columns(table):
                form.values[f"{table}-{i}-{col.name}"] = _text(record.get(col.name))
    return form


def add_validation_errors(form: CaseForm, exc: ValidationError) -> None:
    """Each pydantic error beside its field, in the words of the API's 422."""
    for error in exc.errors(include_input=False, include_url=False):
        loc = [str(p) for p in error["loc"]]
        message = error["msg"]
        if not loc:
            # Model-level checks name their field first ("as_of: before person.birth_month").
            text = message.removeprefix("Value error, ")
            found = _FIELD_PREFIX.match(text)
            where = found.group(1) if found else None
            form.add_error(_name_of(where) if where else None, text)
            continue
        where = ".".join(loc)
        form.add_error(_name_of_loc(loc), f"{where}: {message}")


def add_case_problems(form: CaseForm, problems: list[CaseProblem]) -> None:
    """The loader's contract violations (e.g. a record dated today) beside their fields."""
    for p in problems:
        if p.table == "people":
            name = f"person-{p.column}" if p.column else None
            where = f"person.{p.column}" if p.column else "person"
        else:
            name = f"{p.table}-{p.row}-{p.column}" if p.row is not None and p.column else None
            where = p.table + (f"[{p.row}]" if p.row is not None else "") + (f".{p.column}" if p.column else "")
        form.add_error(name, f"{where}: {p.problem}")


def _name_of_loc(loc: list[str]) -> str | None:
    if loc == ["as_of"]:
        return "as_of"
    if len(loc) == 2 and loc[0] == "person":
        return f"person-{loc[1]}"
    if len(loc) == 3 and loc[0] in EVENT_TABLES and loc[1].isdigit():
        return f"{loc[0]}-{loc[1]}-{loc[2]}"
    return None


def _name_of(where: str) -> str | None:
    # "as_of", "person.birth_month" or "police_contacts[2].occurred_on"
    parts = re.split(r"[.\[\]]+", where)
    return _name_of_loc([p for p in parts if p])


def _json_value(f: FormField, text: str) -> Any:
    text = text.strip()
    if text == "":
        # A required field left blank is sent as missing-ish text so the 422 names it.
        return None if not f.required else ""
    if f.kind == "date" and f.input_type == "month" and _MONTH.match(text):
        return f"{text}-01"
    if f.kind == "int" and re.fullmatch(r"-?\d{1,12}", text):
        return int(text)
    if f.kind == "number" and re.fullmatch(r"-?\d{1,12}(\.\d{1,12})?", text):
        return float(text)
    return text


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)[:200]
