"""Python binding test: every exported InspectionStore operation through the generated
uniffi module, with Python's own sqlite3 as an independent reader of the file."""

import shutil
import sqlite3

import pytest

from fieldproof_ffi import (
    Answer,
    AnswerValue,
    ChecklistTemplate,
    Datum,
    DraftFields,
    FieldproofError,
    GeoPoint,
    InspectionFilter,
    InspectionStore,
    ItemKind,
    Matter,
    ResponsibleParty,
    Status,
    StoreOptions,
)

START = 1_790_000_000_000
NO_FILTER = dict(status=None, matter=None, started_from_ms=None, started_before_ms=None, task_id=None, text=None)


def fields(**overrides):
    values = dict(
        township_code="430121101",
        county_code=None,
        site=GeoPoint(lat=28.2282, lon=112.9388, datum=Datum.GCJ02),
        address="长沙县黄花镇某村",
        task_id=None,
        officer_id="officer-17",
        started_at_ms=START,
        ended_at_ms=None,
        findings="",
        responsible_party=None,
    )
    values.update(overrides)
    return DraftFields(**values)


def yes(item):
    return Answer(item_id=item, value=AnswerValue.YES_NO(True))


COMPLETE = [
    yes("fire_on_arrival"),
    yes("extinguished"),
    yes("responsible_party_identified"),
    yes("warning_issued"),
    Answer(item_id="burned_area_mu", value=AnswerValue.NUMBER(2.5)),
    Answer(item_id="material", value=AnswerValue.CHOICE("rice_straw")),
]


def listing(store, limit=500, cursor=None, **filters):
    return store.list_inspections(InspectionFilter(**{**NO_FILTER, **filters}), limit, cursor)


@pytest.fixture
def db_path(tmp_path):
    return str(tmp_path / "device.db")


@pytest.fixture
def store(db_path):
    return InspectionStore.open(db_path)


def expect(error_class, code, call, *args):
    with pytest.raises(error_class) as caught:
        call(*args)
    assert caught.value.code == code, caught.value
    return caught.value


def test_file_is_wal_sqlite_with_current_schema(store, db_path):
    conn = sqlite3.connect(db_path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 7
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"inspections", "inspection_answers", "outbox", "matters", "checklist_templates"} <= tables


def test_reference_data(store):
    assert [m.code for m in store.list_matters()] == ["straw_burning", "waste_burning"]
    template = store.checklist_for_matter("waste_burning")
    kinds = {item.id: item.kind for item in template.items}
    assert kinds["fire_on_arrival"].is_YES_NO()
    assert kinds["estimated_volume_m3"].unit == "立方米"
    newer = ChecklistTemplate(id=template.id, version=template.version + 1, title="垃圾焚烧检查 v2", items=template.items)
    store.put_checklist_template(newer)
    store.put_matter(Matter(code="tyre_burning", name="焚烧轮胎", checklist_id=template.id))
    assert store.checklist_for_matter("tyre_burning").version == newer.version
    assert store.checklist_for_version(template.id, template.version) == template
    expect(FieldproofError.NotFound, "not_found", store.checklist_for_version, template.id, 99)
    expect(FieldproofError.InvalidInput, "invalid_template", store.put_checklist_template, ChecklistTemplate(id=newer.id, version=newer.version, title="x", items=newer.items))
    expect(FieldproofError.InvalidInput, "invalid_field", store.put_matter, Matter(code="Bad Code", name="x", checklist_id=template.id))
    expect(FieldproofError.NotFound, "not_found", store.put_matter, Matter(code="other", name="x", checklist_id="nope"))


def test_draft_submit_amend_and_outbox(store, db_path):
    party = ResponsibleParty(name="王五", phone="13700000000", id_number=None)
    draft = store.create_draft("straw_burning", fields(responsible_party=party), [yes("fire_on_arrival")])
    assert draft.status == Status.DRAFT
    assert draft.county_code == "430121"
    assert draft.site.reported_datum == Datum.GCJ02 and abs(draft.site.lat - 28.2282) > 0.001
    assert draft.responsible_party == party

    updated = store.update_draft(draft.id, fields(findings="田间焚烧", task_id="task-1", responsible_party=party))
    assert updated.task_id == "task-1"
    store.set_answers(draft.id, COMPLETE + [Answer(item_id="remarks", value=AnswerValue.TEXT("已劝导"))])
    assert all(a.item_id != "remarks" for a in store.clear_answer(draft.id, "remarks").answers)
    assert store.pending_outbox(10) == []

    submitted = store.submit(draft.id)
    assert submitted.status == Status.SUBMITTED
    assert submitted.ended_at_ms >= START
    [op] = store.pending_outbox(10)
    assert (op.kind, op.entity_id) == ("inspection.submit", draft.id)
    # An independent reader sees the op committed with the status change.
    conn = sqlite3.connect(db_path)
    assert conn.execute("SELECT status FROM inspections WHERE id = ?", (draft.id,)).fetchone() == ("submitted",)
    assert conn.execute("SELECT count(*) FROM outbox WHERE entity_id = ?", (draft.id,)).fetchone() == (1,)

    amendment = store.amend(draft.id)
    assert (amendment.amends_id, amendment.revision, amendment.status) == (draft.id, 1, Status.DRAFT)
    assert store.get_inspection(draft.id) == submitted
    expect(FieldproofError.InvalidState, "amendment_pending", store.amend, draft.id)
    store.submit(amendment.id)
    expect(FieldproofError.InvalidState, "superseded", store.amend, draft.id)
    assert [op.kind for op in store.pending_outbox(10)] == ["inspection.submit", "inspection.amend"]


def test_listing_and_paging(store):
    ids = [
        store.create_draft("waste_burning" if i % 2 else "straw_burning", fields(started_at_ms=START + i * 1000, task_id=f"t{i % 3}"), []).id
        for i in range(7)
    ]
    seen, cursor = [], None
    while True:
        page = listing(store, 3, cursor)
        seen += [s.id for s in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == ids[::-1]
    assert len(listing(store, matter="waste_burning").items) == 3
    assert len(listing(store, task_id="t0").items) == 3
    assert len(listing(store, started_from_ms=START + 2000, started_before_ms=START + 5000).items) == 3
    assert len(listing(store, status=Status.DRAFT).items) == 7
    assert len(listing(store, text="黄花镇").items) == 7
    assert listing(store, text="没有这个地址").items == []
    expect(FieldproofError.InvalidInput, "invalid_cursor", listing, store, 3, "1.2")
    expect(FieldproofError.InvalidInput, "invalid_field", listing, store, 0)


@pytest.mark.parametrize(
    "answer, code",
    [
        (yes("no_such_item"), "unknown_checklist_item"),
        (Answer(item_id="fire_on_arrival", value=AnswerValue.CHOICE("yes")), "wrong_answer_type"),
        (Answer(item_id="burned_area_mu", value=AnswerValue.NUMBER(10_001.0)), "number_out_of_range"),
        (Answer(item_id="burned_area_mu", value=AnswerValue.NUMBER(float("nan"))), "number_out_of_range"),
        (Answer(item_id="remarks", value=AnswerValue.TEXT("烟" * 501)), "text_too_long"),
        (Answer(item_id="material", value=AnswerValue.CHOICE("coal")), "invalid_choice"),
    ],
)
def test_bad_answers_change_nothing(store, answer, code):
    draft = store.create_draft("straw_burning", fields(), [yes("fire_on_arrival")])
    expect(FieldproofError.InvalidInput, code, store.set_answers, draft.id, [yes("smoke_visible"), answer])
    expect(FieldproofError.InvalidInput, code, store.create_draft, "straw_burning", fields(), [answer])
    assert store.get_inspection(draft.id) == draft
    assert len(listing(store).items) == 1


def test_bad_fields_and_states(store):
    for site in [GeoPoint(lat=float("nan"), lon=112.0, datum=Datum.WGS84), GeoPoint(lat=28.0, lon=float("inf"), datum=Datum.BD09), GeoPoint(lat=-91.0, lon=0.0, datum=Datum.WGS84)]:
        expect(FieldproofError.InvalidInput, "invalid_coordinate", store.create_draft, "straw_burning", fields(site=site), [])
    expect(FieldproofError.InvalidInput, "invalid_time_range", store.create_draft, "straw_burning", fields(ended_at_ms=START - 1), [])
    expect(FieldproofError.InvalidInput, "invalid_division_code", store.create_draft, "straw_burning", fields(township_code="43a121"), [])
    expect(FieldproofError.InvalidInput, "unknown_matter", store.create_draft, "fishing", fields(), [])
    draft = store.create_draft("straw_burning", fields(), [])
    err = expect(FieldproofError.InvalidInput, "required_item_missing", store.submit, draft.id)
    assert "fire_on_arrival" in err.reason
    expect(FieldproofError.InvalidState, "not_submitted", store.amend, draft.id)
    store.set_answers(draft.id, COMPLETE)
    store.submit(draft.id)
    expect(FieldproofError.InvalidState, "not_draft", store.submit, draft.id)
    expect(FieldproofError.InvalidState, "not_draft", store.set_answers, draft.id, [yes("smoke_visible")])
    expect(FieldproofError.NotFound, "not_found", store.get_inspection, "0190f5c2-0000-7000-8000-00000000abcd")
    expect(FieldproofError.InvalidInput, "invalid_id", store.submit, "../../etc/passwd")
    # Personal data never reaches error messages.
    party = ResponsibleParty(name="赵六", phone="1" * 40, id_number=None)
    err = expect(FieldproofError.InvalidInput, "text_too_long", store.create_draft, "straw_burning", fields(responsible_party=party), [])
    assert "1111111111" not in str(err) and "赵六" not in str(err)


def test_storage_failures(tmp_path, store, db_path):
    store.create_draft("straw_burning", fields(), [])
    del store

    not_db = tmp_path / "notes.txt"
    not_db.write_bytes(b"field notes, not a database\n" * 100)
    expect(FieldproofError.Storage, "not_a_database", InspectionStore.open, str(not_db))
    assert not_db.read_bytes() == b"field notes, not a database\n" * 100

    newer = tmp_path / "newer.db"
    shutil.copy(db_path, newer)
    conn = sqlite3.connect(newer)
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    before = newer.read_bytes()
    expect(FieldproofError.Storage, "schema_too_new", InspectionStore.open, str(newer))
    assert newer.read_bytes() == before

    truncated = tmp_path / "truncated.db"
    data = open(db_path, "rb").read()
    truncated.write_bytes(data[: len(data) // 2])
    expect(FieldproofError.Storage, "database_corrupt", InspectionStore.open, str(truncated))

    expect(FieldproofError.Storage, "cannot_open", InspectionStore.open, str(tmp_path / "no" / "such" / "dir.db"))

    # A fresh database (schema v5, with the sync tables) takes 160 KiB.
    small = InspectionStore.open_with_options(str(tmp_path / "small.db"), StoreOptions(max_size_bytes=200 * 1024))
    kept = []
    with pytest.raises(FieldproofError.Storage) as full:
        for _ in range(1000):
            kept.append(small.create_draft("straw_burning", fields(findings="焚烧" * 1000), COMPLETE).id)
    assert full.value.code == "storage_full"
    assert kept and {s.id for s in listing(small).items} == set(kept)
