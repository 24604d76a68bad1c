"""Where on the body a photo was taken: the portal's one list of body sites.

About forty sites a clinic photographs most (skin first: moles, rashes, wounds), each
with its SNOMED CT body-structure code and whether it is one of a pair (so takes a
side). The codes are those DICOM gives for dermatology photographs, with DICOM's own
display names, which are SNOMED CT's:

- DICOM PS3.16, CID 4029 "Dermatology Anatomic Site" (the "Skin of ..." sites), and
- DICOM PS3.16, CID 4031 "Common Anatomic Region" (the limb regions CID 4029 splits
  into front and back, e.g. forearm, thigh).

https://dicom.nema.org/medical/dicom/current/output/chtml/part16/sect_CID_4029.html
https://dicom.nema.org/medical/dicom/current/output/chtml/part16/sect_CID_4031.html

docs/body-sites.md lists them for integrators. Laterality is SNOMED CT's qualifier,
carried beside the site as DICOM and FHIR do (BodyStructure.locationQualifier), never
folded into the site's code. A site code or side outside this list is refused wherever
one is accepted.
"""

from __future__ import annotations

from dataclasses import dataclass

SNOMED_SYSTEM = "http://snomed.info/sct"


@dataclass(frozen=True)
class BodySite:
    code: str
    label: str  # what staff and patients read
    display: str  # SNOMED CT's display name, as the source lists it
    region: str
    paired: bool  # one of a pair: left, right or both may be said
    source: str = "CID 4029"


@dataclass(frozen=True)
class Side:
    key: str
    label: str
    code: str
    display: str


SIDES = (
    Side("left", "Left", "7771000", "Left"),
    Side("right", "Right", "24028007", "Right"),
    Side("both", "Both sides", "51440002", "Right and left"),
)
SIDE_BY_KEY = {side.key: side for side in SIDES}

HEAD = "Head and neck"
TRUNK = "Trunk"
ARM = "Arm and hand"
LEG = "Leg and foot"
ANY = "Anywhere"

BODY_SITES = (
    BodySite("43067004", "Scalp", "Skin of scalp", HEAD, False),
    BodySite("68698007", "Forehead", "Skin of forehead", HEAD, False),
    BodySite("73897004", "Face", "Skin of face", HEAD, False),
    BodySite("41310005", "Upper eyelid", "Skin of upper eyelid", HEAD, True),
    BodySite("40069000", "Lower eyelid", "Skin of lower eyelid", HEAD, True),
    BodySite("113179006", "Nose", "Skin of nose", HEAD, False),
    BodySite("36141000", "Cheek", "Skin of cheek", HEAD, True),
    BodySite("1902009", "Ear", "Skin of ear", HEAD, True),
    BodySite("88089004", "Lip", "Skin of lip", HEAD, False),
    BodySite("23747009", "Chin", "Skin of chin", HEAD, False),
    BodySite("43081002", "Neck", "Skin of neck", HEAD, False),
    BodySite("244106003", "Chest", "Skin of anterior surface of thorax", TRUNK, False),
    BodySite("82038008", "Breast", "Skin of breast", TRUNK, True),
    BodySite("76261009", "Armpit", "Skin of axilla", TRUNK, True),
    BodySite("75093004", "Abdomen", "Skin of abdomen", TRUNK, False),
    BodySite("315003", "Navel", "Skin of umbilicus", TRUNK, False),
    BodySite("244111001", "Upper back", "Skin of posterior surface of thorax", TRUNK, False),
    BodySite("113182001", "Lower back", "Skin of lower back", TRUNK, False),
    BodySite("22180002", "Buttock", "Skin of buttock", TRUNK, True),
    BodySite("39687006", "Groin", "Skin of inguinal region", TRUNK, True),
    BodySite("60944009", "Genitals", "Skin of external genitalia", TRUNK, False),
    BodySite("48014002", "Perineum", "Skin of perineum", TRUNK, False),
    BodySite("16982005", "Shoulder", "Shoulder", ARM, True, "CID 4031"),
    BodySite("40983000", "Upper arm", "Upper arm", ARM, True, "CID 4031"),
    BodySite("181536004", "Elbow", "Skin of posterior surface of elbow", ARM, True),
    BodySite("17957002", "Inside of elbow", "Skin of antecubital fossa", ARM, True),
    BodySite("14975008", "Forearm", "Forearm", ARM, True, "CID 4031"),
    BodySite("52876008", "Wrist, back", "Skin of dorsal area of wrist", ARM, True),
    BodySite("24527008", "Wrist, palm side", "Skin of palmar area of wrist", ARM, True),
    BodySite("33712006", "Hand", "Skin of hand", ARM, True),
    BodySite("70887009", "Palm", "Skin of palm of hand", ARM, True),
    BodySite("244169007", "Finger", "Skin of digit of hand", ARM, True),
    BodySite("770809003", "Fingernail", "Nail unit of finger", ARM, True),
    BodySite("29836001", "Hip", "Hip", LEG, True, "CID 4031"),
    BodySite("68367000", "Thigh", "Thigh", LEG, True, "CID 4031"),
    BodySite("72696002", "Knee", "Knee", LEG, True, "CID 4031"),
    BodySite("84507004", "Back of knee", "Skin of popliteal fossa", LEG, True),
    BodySite("25763004", "Shin", "Skin of anterior surface of lower leg", LEG, True),
    BodySite("47224004", "Calf", "Skin of posterior surface of lower leg", LEG, True),
    BodySite("181563003", "Ankle, inner side", "Skin of medial aspect of ankle", LEG, True),
    BodySite("181564009", "Ankle, outer side", "Skin of lateral aspect of ankle", LEG, True),
    BodySite("60496002", "Foot", "Skin of foot", LEG, True),
    BodySite("84607009", "Heel", "Skin of heel", LEG, True),
    BodySite("52034004", "Toe", "Skin of toe", LEG, True),
    BodySite("770805009", "Toenail", "Nail unit of toe", LEG, True),
    BodySite("39937001", "Skin, elsewhere", "Skin", ANY, False),
)
BODY_SITE_BY_CODE = {site.code: site for site in BODY_SITES}


class BodySiteError(ValueError):
    """A body site or side outside the shipped list; ``field`` is ``code`` or ``side``."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def body_site_clean(code, side) -> tuple[str, str]:
    """``(code, side)`` checked against the list: ``("", "")`` for no site; a side only
    for a paired site. Raises ``BodySiteError`` naming what is wrong."""
    code = code.strip() if isinstance(code, str) else code
    side = side.strip().lower() if isinstance(side, str) else side
    if code in (None, ""):
        if side not in (None, ""):
            raise BodySiteError("side", "A side needs a body site.")
        return "", ""
    if not isinstance(code, str) or code not in BODY_SITE_BY_CODE:
        raise BodySiteError(
            "code", "Not a body site of the portal's list (a SNOMED CT code from it)."
        )
    if side in (None, ""):
        return code, ""
    if not isinstance(side, str) or side not in SIDE_BY_KEY:
        raise BodySiteError("side", 'The side is "left", "right" or "both".')
    if not BODY_SITE_BY_CODE[code].paired:
        raise BodySiteError("side", f"{BODY_SITE_BY_CODE[code].label} has no left or right.")
    return code, side


def body_site_label(code: str, side: str = "") -> str:
    """ "Left forearm", "Scalp", or "" for none (or a code no longer in the list)."""
    site = BODY_SITE_BY_CODE.get(code or "")
    if site is None:
        return ""
    if side == "both":
        return f"{site.label}, both sides"
    if side in SIDE_BY_KEY:
        return f"{SIDE_BY_KEY[side].label} {site.label[0].lower()}{site.label[1:]}"
    return site.label


def body_site_options() -> list[tuple[str, str, str, str]]:
    """Every choice a picker offers, as ``(label, code, side, region)``: a paired site
    once per side and once with no side said ("Left forearm", "Right forearm", "Forearm,
    both sides", "Forearm")."""
    options = []
    for site in BODY_SITES:
        sides = ("left", "right", "both", "") if site.paired else ("",)
        for side in sides:
            options.append((body_site_label(site.code, side), site.code, side, site.region))
    return options


def body_site_from_label(text: str) -> tuple[str, str]:
    """A picker's words back into a checked ``(code, side)``: ``("", "")`` for none,
    ``BodySiteError`` for words that are not one of ``body_site_options``."""
    wanted = " ".join((text or "").split()).casefold()
    if not wanted:
        return "", ""
    for label, code, side, _region in body_site_options():
        if label.casefold() == wanted:
            return code, side
    raise BodySiteError("code", "Choose a body site from the list.")


def body_site_json(code: str, side: str = "") -> dict | None:
    """The API's ``bodySite``: ``{code, system, display, label, laterality}`` or None."""
    site = BODY_SITE_BY_CODE.get(code or "")
    if site is None:
        return None
    return {
        "system": SNOMED_SYSTEM,
        "code": site.code,
        "display": site.display,
        "label": body_site_label(code, side),
        "laterality": side or None,
    }
