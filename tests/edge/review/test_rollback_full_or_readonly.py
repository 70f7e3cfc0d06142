"""A rollback while ``profiles_dir`` is on a full or a read-only file system (a real tmpfs, filled
or remounted read-only): a server error (500) before, a clear refusal now, as marking normal says
(tests/edge/test_profile_full_or_readonly.py); once the disk takes writes again it goes through."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from edge.profiles import ProfileStore
from tests.edge.review.review_helpers import AUTH, Seeded
from tests.edge.test_profile_full_or_readonly import _remount, client, seeded  # noqa: F401 (fixtures)
from tests.faults import fill


@pytest.mark.parametrize("fault", ["full", "read-only"])
def test_a_rollback_on_a_profiles_dir_that_takes_no_write_is_refused_clearly_and_can_be_redone(
    seeded: Seeded,  # noqa: F811 (the imported fixture)
    client: TestClient,  # noqa: F811 (the imported fixture)
    fault: str,
) -> None:
    why = "No space left on device" if fault == "full" else "Read-only file system"
    if fault == "full":
        fill(seeded.profiles)
    else:
        _remount(seeded.profiles, "ro")
    r = client.post("/api/v1/profiles/demo-walk/rollback", json={"version": 1}, headers=AUTH)
    assert r.status_code == 409 and r.json()["detail"].endswith(why), r.text
    assert ProfileStore(seeded.profiles).versions("demo-walk") == [1]
    assert not [p for p in Path(seeded.profiles, "demo-walk").rglob(".v*")]  # nothing half-written
    if fault == "full":
        (seeded.profiles / "filler").unlink()
    else:
        _remount(seeded.profiles, "rw")
    r = client.post("/api/v1/profiles/demo-walk/rollback", json={"version": 1}, headers=AUTH)
    assert r.status_code == 200, r.text
    assert ProfileStore(seeded.profiles).versions("demo-walk") == [1, 2]
