"""What the IVR asks for (`CTI_SKILLS`) becomes the call's skill needs in the router."""

from acd.runner import parse_skills
from acd.specs import SkillNeed


def test_skills_from_the_dialplan() -> None:
    assert parse_skills("french:3,support:2") == (SkillNeed("french", 3), SkillNeed("support", 2))
    assert parse_skills("") == ()
    assert parse_skills("french:9, :2, broken, support:x, sales:1") == (SkillNeed("sales", 1),)
