"""A test's copy of its module's world (tests/support/module_world.py): what one test changes
in memory never reaches the next, and objects the world shares stay shared in the copy."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

from tests.support.module_world import TestCopy


@dataclass
class Clinic:
    name: str
    patients: list = field(default_factory=list)


def world() -> SimpleNamespace:
    clinic = Clinic("Riverside")
    patient = SimpleNamespace(name="Amelia", clinic=clinic)
    clinic.patients.append(patient)
    return SimpleNamespace(clinic=clinic, patient=patient, names={"first": "Amelia"})


def test_a_change_to_a_copy_leaves_the_world_as_built():
    made = world()
    first = TestCopy(made)
    first.patient.name = "Changed"
    first.clinic.patients.append("another")
    first.names["first"] = "Changed"
    second = TestCopy(made)
    assert second.patient.name == "Amelia"
    assert second.clinic.patients == [second.patient]
    assert second.names == {"first": "Amelia"}
    assert made.patient.name == "Amelia" and len(made.clinic.patients) == 1


def test_objects_the_world_shares_stay_one_object_in_a_copy():
    copied = TestCopy(world())
    # Read in either order: the patient's clinic is the clinic, and its patient the patient.
    assert copied.patient.clinic is copied.clinic
    assert copied.clinic.patients[0] is copied.patient
    assert copied.patient is copied.patient  # copied once, then kept


def test_a_dict_world_is_copied_key_by_key():
    made = {"clinic": Clinic("Riverside"), "count": 2}
    copied = TestCopy(made)
    copied["clinic"].name = "Changed"
    assert made["clinic"].name == "Riverside"
    assert copied["clinic"].name == "Changed"
    assert "count" in copied and "missing" not in copied
    copied["count"] = 3
    assert copied["count"] == 3 and made["count"] == 2
