"""Slack's two-step file upload, as the fake plays it (api.slack.com/messaging/files#uploading_files;
`files.upload` is retired): `files.getUploadURLExternal` (filename, length) answers an
`upload_url` and a `file_id`; the bytes are POSTed to that URL (raw, as slack_sdk's
files_upload_v2 sends them); `files.completeUploadExternal` (files=[{id, title}], channel_id,
thread_ts, initial_comment) finishes each file, checking that the bytes arrived and that their
size is the length announced, and shares it in the channel or thread as a message with `files`."""
from __future__ import annotations

import json
import threading


class SlackFiles:
    def __init__(self):
        self.files: dict[str, dict] = {}       # file id -> {name, length, data, title, shared}
        self._lock = threading.Lock()
        self._next = 0

    def upload_url(self, base: str, args: dict) -> dict:
        name, length = str(args.get("filename") or ""), str(args.get("length") or "")
        if not name or not length.isdigit() or int(length) <= 0:
            return {"ok": False, "error": "invalid_arguments"}
        with self._lock:
            self._next += 1
            file_id = f"F{self._next:09d}"
            self.files[file_id] = {"id": file_id, "name": name, "length": int(length), "data": None}
        return {"ok": True, "file_id": file_id, "upload_url": f"{base}upload/{file_id}"}

    def receive(self, file_id: str, data: bytes) -> bool:
        with self._lock:
            entry = self.files.get(file_id)
            if entry is None or entry["data"] is not None:
                return False
            entry["data"] = data
            return True

    def complete(self, args: dict) -> tuple[dict, list[dict]]:
        """(answer, files to share); nothing is shared unless every file is whole."""
        raw = args.get("files")
        listed = json.loads(raw) if isinstance(raw, str) else raw
        if not isinstance(listed, list) or not listed:
            return {"ok": False, "error": "invalid_arguments"}, []
        done = []
        with self._lock:
            for item in listed:
                entry = self.files.get(str(item.get("id")))
                if entry is None or entry["data"] is None:
                    return {"ok": False, "error": "file_not_found"}, []
                if len(entry["data"]) != entry["length"]:
                    return {"ok": False, "error": "file_upload_size_mismatch"}, []
                entry["title"] = item.get("title") or entry["name"]
                done.append({"id": entry["id"], "name": entry["name"], "title": entry["title"],
                             "size": entry["length"], "mimetype": _mimetype(entry["name"])})
        return {"ok": True, "files": done}, done

    def data(self, file_id: str) -> bytes | None:
        with self._lock:
            return (self.files.get(file_id) or {}).get("data")


def _mimetype(name: str) -> str:
    return "image/png" if name.lower().endswith(".png") else "application/octet-stream"
