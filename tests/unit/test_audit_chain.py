"""The audit chain's rules: an intact chain has no problems; an edited entry, a deleted one in
the middle, the newest ones deleted, a missing head are each named; apps.yaml's audit section."""
from __future__ import annotations

from bot.domain.audit import AuditSpec, chain_problems, entry_hash, parse_audit, seal


def chain(n: int) -> tuple[list[dict], dict]:
    entries, prev = [], ""
    for i in range(n):
        entry = seal({"release": "user-1", "actor": f"U{i}", "action": "approve", "at": f"{i}.000"}, prev)
        prev = entry["hash"]
        entries.append(dict(entry, id=f"{i}-0"))
    return entries, {"hash": prev, "count": str(n)}


def test_an_intact_chain_has_no_problems():
    entries, head = chain(4)
    assert chain_problems(entries, head) == []
    assert entries[1]["prev"] == entries[0]["hash"] == entry_hash({k: v for k, v in entries[0].items() if k != "id"})


def test_an_edited_entry_is_named():
    entries, head = chain(4)
    entries[2] = dict(entries[2], actor="U_SOMEONE_ELSE")
    assert chain_problems(entries, head) == ["entry 3 (2-0) was edited after it was written"]


def test_an_entry_deleted_in_the_middle_breaks_the_link_and_the_count():
    entries, head = chain(4)
    del entries[1]
    assert chain_problems(entries, head) == [
        "entry 2 (2-0) does not follow the one before it: an entry before it was deleted or changed",
        "4 entries were written and 3 are left"]


def test_the_newest_entries_deleted_show_through_the_head():
    entries, head = chain(4)
    assert chain_problems(entries[:2], head) == ["4 entries were written and 2 are left"]
    assert chain_problems(entries, {}) == ["the chain's head is missing"]


def test_entries_written_before_the_chain_are_not_tampering():
    entries, head = chain(2)
    legacy = [{"id": "0-1", "actor": "U0", "action": "create", "at": "0.0"}]
    assert chain_problems(legacy + entries, head) == []
    assert chain_problems(entries + [{"id": "9-0", "actor": "X", "action": "approve"}], head) == [
        "entry 3 (9-0) has no hash: added outside graybot"]


def test_the_audit_section_of_apps_yaml():
    problems: list[str] = []
    assert parse_audit(None, problems) == AuditSpec()
    assert parse_audit({"retention": "90d", "webhook": "https://siem.example/in", "timeout": "5s"}, problems) == \
        AuditSpec(retention=90 * 86400, webhook="https://siem.example/in", timeout=5)
    assert problems == []
    parse_audit({"retention": "2h", "webhook": "ftp://x", "keep": 1}, problems)
    assert problems == ["audit: unknown key 'keep' (known: retention, webhook, timeout)",
                        "audit.retention: '2h' is not a duration of at least 1d, like 400d",
                        "audit.webhook: 'ftp://x' is not an http(s) URL"]
