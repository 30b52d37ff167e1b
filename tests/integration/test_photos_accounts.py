"""Sign up, log in, log out, and what a session cookie can and cannot do."""

import pytest

from conftest import PhotoApp

pytestmark = pytest.mark.integration


def test_signup_logs_in_with_a_signed_httponly_cookie(photos: PhotoApp):
    client = photos.client()

    response = client.post("/api/signup", json={"username": "alice", "password": "correct horse"})

    assert response.status_code == 201
    assert response.json()["username"] == "alice"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("ms_session=")
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert client.get("/api/me").json()["username"] == "alice"


def test_a_taken_username_is_a_conflict(photos: PhotoApp):
    photos.user("alice")

    response = photos.client().post(
        "/api/signup", json={"username": "alice", "password": "another password"}
    )

    assert response.status_code == 409


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"username": "Al", "password": "correct horse"}, "username"),
        ({"username": "alice", "password": "short"}, "password"),
        ({"username": "alice"}, "password"),
        ({"password": "correct horse"}, "username"),
    ],
)
def test_bad_signup_bodies_are_422_naming_the_field(photos: PhotoApp, body, field):
    response = photos.client().post("/api/signup", json=body)

    assert response.status_code == 422
    assert field in {error["loc"][-1] for error in response.json()["detail"]}


def test_malformed_json_is_422(photos: PhotoApp):
    response = photos.client().post(
        "/api/signup", content=b"{not json", headers={"content-type": "application/json"}
    )

    assert response.status_code == 422


def test_login_with_the_right_password_starts_a_session(photos: PhotoApp):
    photos.user("alice", "correct horse")
    client = photos.client()

    response = client.post("/api/login", json={"username": "alice", "password": "correct horse"})

    assert response.status_code == 200
    assert client.get("/api/me").json()["username"] == "alice"


def test_unknown_user_and_wrong_password_get_the_same_answer(photos: PhotoApp):
    photos.user("alice", "correct horse")

    wrong = photos.client().post("/api/login", json={"username": "alice", "password": "nope"})
    unknown = photos.client().post("/api/login", json={"username": "mallory", "password": "nope"})

    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


def test_logout_ends_the_session_everywhere(photos: PhotoApp):
    alice = photos.user("alice")
    stolen = alice.cookies.get("ms_session")

    assert alice.post("/api/logout").status_code == 204

    replay = photos.client()
    replay.cookies.set("ms_session", stolen)
    assert replay.get("/api/me").status_code == 401
    assert alice.get("/api/me").status_code == 401


def test_a_forged_cookie_is_refused(photos: PhotoApp):
    alice = photos.user("alice")
    session_id, _, signature = alice.cookies.get("ms_session").rpartition(".")
    forger = photos.client()

    forger.cookies.set("ms_session", session_id)  # no signature
    unsigned = forger.get("/api/me").status_code
    forger.cookies.set("ms_session", session_id + "." + "A" * len(signature))
    wrong_signature = forger.get("/api/me").status_code

    assert unsigned == wrong_signature == 401


def test_one_user_cannot_read_another_users_session(photos: PhotoApp):
    alice = photos.user("alice")
    bob = photos.user("bob")

    assert alice.get("/api/me").json()["username"] == "alice"
    assert bob.get("/api/me").json()["username"] == "bob"
    assert alice.cookies.get("ms_session") != bob.cookies.get("ms_session")


def test_session_ids_are_stored_only_as_hashes(photos: PhotoApp):
    import psycopg

    alice = photos.user("alice")
    session_id = alice.cookies.get("ms_session").rpartition(".")[0]

    with psycopg.connect(photos.database_url) as conn:
        stored = conn.execute("SELECT id_hash FROM sessions").fetchall()

    assert len(stored) == 1
    assert session_id.encode() not in bytes(stored[0][0])


def test_me_without_a_session_is_401(photos: PhotoApp):
    assert photos.anonymous.get("/api/me").status_code == 401
