"""CSV template and import over HTTP (ASGI, no Kafka): round trip, multipart, limits, progress, roles."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid

HEADER = "拠点ID/org_unit_id,項目コード/item_code,年月/period,数量/amount,単位/unit,備考/note\r\n"


async def test_the_template_lists_each_site_item_and_month_with_a_bom_and_escaped_cells(client):
    r = await client.get("/csv-template", params={"fiscal_year": 2025})
    assert r.status_code == 200 and r.headers["content-type"] == "text/csv; charset=utf-8"
    assert 'filename="activities_FY2025.csv"' in r.headers["content-disposition"]
    assert r.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0] == ["拠点ID/org_unit_id", "拠点名/org_unit_name", "項目コード/item_code", "項目名/item_name",
                       "年月/period", "数量/amount", "単位/unit", "備考/note"]
    assert len(rows) == 1 + 2 * 8 * 12  # two sites (not the company) × 8 items × 12 months
    assert ["site-1", "東京工場", "electricity", "電力（購入）", "2025-04", "", "kWh", ""] in rows
    assert rows[1] == ["site-2", "'=大阪工場", "electricity", "電力（購入）", "2025-04", "", "kWh", ""]
    assert {r[4] for r in rows[1:]} == {f"2025-{m:02d}" for m in range(4, 13)} | {f"2026-{m:02d}" for m in range(1, 4)}
    assert {r[1] for r in rows[1:]} == {"東京工場", "'=大阪工場"}  # formula-like name escaped on export

    cp932 = await client.get("/csv-template", params={"fiscal_year": 2025, "encoding": "cp932"})
    assert cp932.headers["content-type"] == "text/csv; charset=windows-31j"
    assert cp932.content.decode("cp932") == r.content.decode("utf-8-sig")


async def test_template_round_trip_fill_some_amounts_upload_and_list(client):
    template = (await client.get("/csv-template", params={"fiscal_year": 2025})).content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(template)))
    for row in rows[1:4]:
        row[5] = "1,234.5"
    rows[5][5], rows[5][7] = "0", "髙橋 ①"
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    r = await client.post("/imports", content=out.getvalue().encode("cp932"), params={"filename": "filled.csv"},
                          headers={"content-type": "text/csv"})
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["row_count"], body["skipped_rows"], body["encoding"], body["duplicate"]) == (4, 188, "cp932", False)
    listed = (await client.get("/activities", params={"fiscal_year": 2025})).json()
    assert sorted(a["amount"] for a in listed) == ["0", "1234.5", "1234.5", "1234.5"]
    assert [a["note"] for a in listed if a["amount"] == "0"] == ["髙橋 ①"]
    imports = (await client.get("/imports")).json()
    assert [(i["import_id"], i["status"], i["filename"], i["row_count"]) for i in imports] == [
        (body["import_id"], "completed", "filled.csv", 4)]


async def test_multipart_upload_duplicate_and_dry_run(client):
    data = (HEADER + "site-1,electricity,2025-04,100,kWh,髙①\r\n").encode("cp932")
    dry = await client.post("/imports", params={"dry_run": "true"}, files={"file": ("a.csv", data, "text/csv")})
    assert dry.status_code == 200 and dry.json()["dry_run"] and (await client.get("/activities")).json() == []
    first = await client.post("/imports", files={"file": ("a.csv", data, "text/csv")})
    assert first.status_code == 201 and first.json()["encoding"] == "cp932"
    again = await client.post("/imports", content=data, headers={"content-type": "text/csv"})
    assert again.status_code == 200 and again.json()["duplicate"] is True
    assert again.json()["import_id"] == first.json()["import_id"]
    assert len((await client.get("/activities")).json()) == 1
    one = (await client.get(f"/imports/{first.json()['import_id']}")).json()
    assert (one["status"], one["filename"], one["fiscal_years"]) == ("completed", "a.csv", [2025])


async def test_an_invalid_file_answers_422_with_the_bilingual_report_and_imports_nothing(client):
    data = HEADER + "site-1,electricity,2025-04,abc,kWh,\r\nsite-1,electricity,2025-05,1,kL,=1+2\r\n"
    r = await client.post("/imports", content=data.encode(), headers={"content-type": "text/csv"})
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["title"] == "invalid_csv" and body["detail_ja"] and body["error_count"] == 3
    assert [(e["row"], e["column"], e["value"]) for e in body["errors"]] == [
        (2, "amount", "abc"), (3, "unit", "kL"), (3, "note", "=1+2")]
    assert all(e["reason_en"] and e["reason_ja"] for e in body["errors"])
    assert (await client.get("/activities")).json() == []
    [entry] = (await client.get("/imports")).json()
    assert (entry["status"], entry["error_count"]) == ("rejected", 3)


def _body(chunks: int, size: int, consumed: list[int]):
    async def gen():
        for _ in range(chunks):
            consumed[0] += 1
            yield b"x" * size
    return gen()


async def test_an_oversized_upload_is_refused_with_413_before_it_is_read(client, csv_settings):
    csv_settings.csv.max_bytes = 10_000
    consumed = [0]
    r = await client.post("/imports", content=_body(100, 1000, consumed),
                          headers={"content-type": "text/csv", "content-length": "100000"})
    assert r.status_code == 413 and r.json()["title"] == "file_too_large" and r.json()["detail_ja"]
    assert consumed[0] == 0  # refused from Content-Length alone

    consumed = [0]
    r = await client.post("/imports", content=_body(100, 1000, consumed), headers={"content-type": "text/csv"})
    assert r.status_code == 413 and consumed[0] == 11  # streamed without a length: stopped past the limit

    big = HEADER.encode() + b"site-1,electricity,2025-04,1,kWh,\r\n" * 400
    r = await client.post("/imports", files={"file": ("big.csv", big, "text/csv")})
    assert r.status_code == 413 and (await client.get("/activities")).json() == []


async def test_progress_is_visible_while_the_upload_runs(client):
    release = asyncio.Event()
    import_id = str(uuid.uuid4())

    async def slow_body():
        yield HEADER.encode()
        await release.wait()
        yield b"site-1,electricity,2025-04,100,kWh,\r\n"

    task = asyncio.create_task(client.post("/imports", params={"import_id": import_id}, content=slow_body(),
                                           headers={"content-type": "text/csv"}))
    for _ in range(200):
        await asyncio.sleep(0.01)
        seen = await client.get(f"/imports/{import_id}")
        if seen.status_code == 200:
            break
    assert seen.json()["status"] == "receiving" and seen.json()["bytes_received"] == len(HEADER.encode())
    assert [i["import_id"] for i in (await client.get("/imports")).json()] == [import_id]
    release.set()
    assert (await task).status_code == 201
    done = (await client.get(f"/imports/{import_id}")).json()
    assert (done["status"], done["rows_validated"], done["rows_written"], done["row_count"]) == ("completed", 1, 1, 1)
    reuse = await client.post("/imports", params={"import_id": import_id}, content=b"x")
    assert reuse.status_code == 409


async def test_only_editors_and_admins_import_and_tenants_see_only_their_imports(client, token):
    data = (HEADER + "site-1,electricity,2025-04,100,kWh,\r\n").encode()
    for role in ("viewer", "contributor"):
        r = await client.post("/imports", content=data, headers=token(roles=(role,)) | {"content-type": "text/csv"})
        assert r.status_code == 403
    done = (await client.post("/imports", content=data, headers=token(roles=("admin",)))).json()
    other = token("t2")
    assert (await client.get(f"/imports/{done['import_id']}", headers=other)).status_code == 404
    assert (await client.get("/imports", headers=other)).json() == []
    r = await client.post("/imports", content=data, headers=other)
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "unknown_org_unit"
