#!/usr/bin/env python3
"""Drive LocalPlatform with the real Python neuro-sdk 23.2 and report PASS/FAIL per check.

LocalPlatform (packages/testing) claims to be protocol-faithful to the Neuro Platform services:
whatever the Python SDK can do against the real platform it must be able to do against the
emulator, unchanged. This script is that test. It is not run by CI (it needs a Python
environment with neuro-sdk, see conformance/README.md).

Usage:
    python drive_local_platform.py                 # starts LocalPlatform itself (npx tsx bin.ts)
    python drive_local_platform.py --url URL --token alice=T --token bob=T --token carol=T
    python drive_local_platform.py -k storage      # only checks whose name contains "storage"

Exit status: 0 when every check passed, 1 otherwise.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List, Optional, Tuple

import aiohttp
from multidict import CIMultiDict
from yarl import URL

import neuro_sdk
from neuro_sdk import (
    Action,
    AuthenticationError,
    AuthorizationError,
    Client,
    DiskVolume,
    Factory,
    FileStatusType,
    IllegalArgumentError,
    JobStatus,
    Permission,
    ResourceNotFound,
    StdStreamError,
)

REPO = Path(__file__).resolve().parents[2]
# What neuro-sdk raises for a storage path that is missing: the storage API answers a bare 404,
# which most Storage methods pass on as ResourceNotFound (a few turn it into FileNotFoundError).
NOT_FOUND = (ResourceNotFound, FileNotFoundError)
# The storage API hides what a user may not access: 404 for reads and writes alike, never 403.
HIDDEN = ResourceNotFound
USERS = ("alice", "bob", "carol")
PROTOCOL = "v2.channels.neu.ro"


# ------------------------------------------------------------------------------------------ harness


class CheckFailed(AssertionError):
    pass


def expect(cond: bool, message: str) -> None:
    if not cond:
        raise CheckFailed(message)


def eq(actual: Any, expected: Any, what: str = "value") -> None:
    if actual != expected:
        raise CheckFailed(f"{what}: expected {expected!r}, got {actual!r}")


async def raises(exc: Any, aw: Awaitable[Any], what: str) -> BaseException:
    try:
        await aw
    except exc as e:  # noqa: B030
        return e
    except Exception as e:  # noqa: BLE001
        raise CheckFailed(f"{what}: expected {exc}, got {type(e).__name__}: {e}") from e
    raise CheckFailed(f"{what}: expected {exc}, got no error")


@dataclass
class Ctx:
    api_url: URL
    tokens: Dict[str, str]
    workdir: Path
    clients: Dict[str, Client] = field(default_factory=dict)
    shared: Dict[str, Any] = field(default_factory=dict)

    @property
    def alice(self) -> Client:
        return self.clients["alice"]

    @property
    def bob(self) -> Client:
        return self.clients["bob"]

    @property
    def base_url(self) -> URL:
        return self.api_url.with_path("/")

    async def login(self, token: str, label: str) -> Client:
        path = Path(tempfile.mkdtemp(prefix=f"conf-{label}-", dir=self.workdir)) / "nmrc"
        factory = Factory(path)
        await factory.login_with_token(token, url=self.api_url)
        return await factory.get()


CHECKS: List[Tuple[str, Callable[[Ctx], Awaitable[None]]]] = []


def check(name: str) -> Callable[[Callable[[Ctx], Awaitable[None]]], Callable[[Ctx], Awaitable[None]]]:
    def deco(fn: Callable[[Ctx], Awaitable[None]]) -> Callable[[Ctx], Awaitable[None]]:
        CHECKS.append((name, fn))
        return fn

    return deco


async def wait_status(
    client: Client, job_id: str, statuses: Tuple[JobStatus, ...], timeout: float = 30
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        job = await client.jobs.status(job_id)
        if job.status in statuses:
            return job
        if time.monotonic() > deadline:
            raise CheckFailed(f"job {job_id} still {job.status} after {timeout}s")
        await asyncio.sleep(0.1)


FINISHED = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


async def start(client: Client, command: str, **kwargs: Any) -> Any:
    return await client.jobs.start(
        image=client.parse.remote_image("ubuntu:22.04"),
        preset_name=kwargs.pop("preset_name", "cpu-small"),
        command=command,
        **kwargs,
    )


async def read_std(stream: Any, until: Optional[bytes] = None, timeout: float = 15) -> Tuple[Dict[int, bytes], Optional[int]]:
    """Everything a StdStream sends, by fileno, until it ends (or `until` appears); and the exit code."""
    out: Dict[int, bytes] = {1: b"", 2: b""}

    async def loop() -> Optional[int]:
        while True:
            try:
                msg = await stream.read_out()
            except StdStreamError as e:
                return e.exit_code
            if msg is None:
                return None
            out[msg.fileno] = out.get(msg.fileno, b"") + msg.data
            if until is not None and until in out[msg.fileno]:
                return None

    code = await asyncio.wait_for(loop(), timeout)
    return out, code


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def raw(ctx: Ctx, method: str, url: URL, user: str = "alice", **kwargs: Any) -> Tuple[int, Any, bytes]:
    headers = {"Authorization": f"Bearer {ctx.tokens[user]}", **kwargs.pop("headers", {})}
    async with aiohttp.ClientSession() as session:
        async with session.request(method, url, headers=headers, **kwargs) as resp:
            return resp.status, CIMultiDict(resp.headers), await resp.read()


# ------------------------------------------------------------------------------------------ config


@check("config: login_with_token and get() give alice's config")
async def _(ctx: Ctx) -> None:
    cfg = ctx.alice.config
    eq(cfg.username, "alice", "username")
    eq(cfg.cluster_name, "default", "cluster_name")
    eq(cfg.api_url, ctx.api_url, "api_url")
    expect("default" in cfg.clusters, f"clusters: {list(cfg.clusters)}")
    eq(await cfg.token(), ctx.tokens["alice"], "token")


@check("config: presets of the cluster")
async def _(ctx: Ctx) -> None:
    presets = ctx.alice.config.presets
    eq(sorted(presets), ["cpu-large", "cpu-medium", "cpu-small", "gpu-small"], "preset names")
    small = presets["cpu-small"]
    eq((small.cpu, small.memory), (1.0, 2 * 2**30), "cpu-small resources")
    gpu = presets["gpu-small"]
    eq((gpu.gpu, gpu.gpu_model, gpu.scheduler_enabled, gpu.preemptible_node), (1, "nvidia-tesla-t4", True, True), "gpu-small")


@check("config: cluster URLs advertised by /config")
async def _(ctx: Ctx) -> None:
    cluster = ctx.alice.config.clusters["default"]
    eq(cluster.monitoring_url, ctx.api_url / "jobs", "monitoring_url")
    # platform-api advertises the auth service's public URL, where the users API is served
    eq(cluster.users_url, ctx.api_url / "users", "users_url")
    status, _, _ = await raw(ctx, "GET", cluster.storage_url / "alice", params={"op": "GETFILESTATUS"})
    eq(status, 200, "GETFILESTATUS on storage_url/alice")


@check("config: switch_cluster, fetch, unknown cluster")
async def _(ctx: Ctx) -> None:
    await ctx.alice.config.switch_cluster("default")
    eq(ctx.alice.config.cluster_name, "default", "cluster_name")
    await ctx.alice.config.fetch()
    await raises(RuntimeError, ctx.alice.config.switch_cluster("nope"), "switch to an unknown cluster")
    await ctx.alice.config.check_server()


@check("config: a bad token is refused (AuthError)")
async def _(ctx: Ctx) -> None:
    factory = Factory(Path(tempfile.mkdtemp(dir=ctx.workdir)) / "nmrc")
    await raises(
        neuro_sdk.AuthError,
        factory.login_with_token("not-a-token", url=ctx.api_url),
        "login with a bad token",
    )


# ------------------------------------------------------------------------------------------ storage


@check("storage: mkdir (parents, exist_ok) and its errors")
async def _(ctx: Ctx) -> None:
    st = ctx.alice.storage
    await st.mkdir(URL("storage:conf/a/b"), parents=True)
    await st.mkdir(URL("storage:conf/a/b"), parents=True, exist_ok=True)
    await raises(FileExistsError, st.mkdir(URL("storage:conf/a/b")), "mkdir of an existing dir")
    await raises(FileNotFoundError, st.mkdir(URL("storage:conf/missing/x")), "mkdir without parents")
    s = await st.stat(URL("storage:conf/a/b"))
    eq(s.type, FileStatusType.DIRECTORY, "type")


@check("storage: create, open, write at offset, stat")
async def _(ctx: Ctx) -> None:
    st = ctx.alice.storage
    uri = URL("storage:conf/file.txt")
    await st.create(uri, b"hello world")
    data = b"".join([c async for c in st.open(uri)])
    eq(data, b"hello world", "content")
    await st.write(uri, b"WORLD", 6)
    data = b"".join([c async for c in st.open(uri)])
    eq(data, b"hello WORLD", "content after write")
    part = b"".join([c async for c in st.open(uri, offset=6, size=3)])
    eq(part, b"WOR", "range read")
    s = await st.stat(uri)
    eq((s.type, s.size, s.name, s.permission), (FileStatusType.FILE, 11, "file.txt", Action.MANAGE), "stat")

    async def gen() -> Any:
        for i in range(3):
            yield f"chunk{i};".encode()

    await st.create(URL("storage:conf/streamed.txt"), gen())
    data = b"".join([c async for c in st.open(URL("storage:conf/streamed.txt"))])
    eq(data, b"chunk0;chunk1;chunk2;", "streamed create")


@check("storage: ls and glob")
async def _(ctx: Ctx) -> None:
    st = ctx.alice.storage
    for name in ("g1.txt", "g2.txt", "g3.csv"):
        await st.create(URL(f"storage:conf/glob/{name}"), name.encode())
    await st.mkdir(URL("storage:conf/glob/sub"), parents=True)
    await st.create(URL("storage:conf/glob/sub/deep.txt"), b"d")
    async with st.list(URL("storage:conf/glob")) as it:
        names = sorted([(f.name, f.type) async for f in it])
    eq(
        names,
        [("g1.txt", FileStatusType.FILE), ("g2.txt", FileStatusType.FILE), ("g3.csv", FileStatusType.FILE), ("sub", FileStatusType.DIRECTORY)],
        "listing",
    )
    async with st.glob(URL("storage:conf/glob/*.txt")) as it:
        found = sorted([str(u) async for u in it])
    eq(found, ["storage:conf/glob/g1.txt", "storage:conf/glob/g2.txt"], "glob *.txt")
    async with st.glob(URL("storage:conf/glob/**/*.txt")) as it:
        found = sorted([str(u) async for u in it])
    eq(len(found), 3, f"glob **/*.txt: {found}")


@check("storage: error mapping (FileNotFound, IsADirectory, NotADirectory)")
async def _(ctx: Ctx) -> None:
    st = ctx.alice.storage
    await raises(NOT_FOUND, st.stat(URL("storage:conf/nope")), "stat of a missing file")

    async def read(uri: URL) -> bytes:
        return b"".join([c async for c in st.open(uri)])

    await raises(NOT_FOUND, read(URL("storage:conf/nope")), "open of a missing file")
    await raises(IsADirectoryError, read(URL("storage:conf/a")), "open of a directory")
    await raises(IsADirectoryError, st.rm(URL("storage:conf/a")), "rm of a directory without recursive")

    async def ls(uri: URL) -> List[Any]:
        async with st.list(uri) as it:
            return [f async for f in it]

    await raises(NOT_FOUND, ls(URL("storage:conf/nope")), "ls of a missing dir")
    await raises(NotADirectoryError, ls(URL("storage:conf/file.txt")), "ls of a file")


@check("storage: upload_dir / download_dir round trip")
async def _(ctx: Ctx) -> None:
    st = ctx.alice.storage
    src = ctx.workdir / "up"
    (src / "x" / "y").mkdir(parents=True)
    files = {"top.txt": b"top", "x/one.bin": bytes(range(256)) * 100, "x/y/two.txt": b"two", "empty.txt": b""}
    for rel, data in files.items():
        (src / rel).write_bytes(data)
    await st.upload_dir(URL(src.as_uri()), URL("storage:conf/tree"))
    dst = ctx.workdir / "down"
    await st.download_dir(URL("storage:conf/tree"), URL(dst.as_uri()))
    for rel, data in files.items():
        eq((dst / rel).read_bytes(), data, f"downloaded {rel}")
    # update mode: nothing changes, nothing fails
    await st.upload_dir(URL(src.as_uri()), URL("storage:conf/tree"), update=True)
    s = await st.stat(URL("storage:conf/tree/x/one.bin"))
    eq(s.size, 25600, "size")


@check("storage: mv and disk_usage")
async def _(ctx: Ctx) -> None:
    st = ctx.alice.storage
    await st.create(URL("storage:conf/mv-src.txt"), b"moved")
    await st.mv(URL("storage:conf/mv-src.txt"), URL("storage:conf/mv-dst.txt"))
    await raises(NOT_FOUND, st.stat(URL("storage:conf/mv-src.txt")), "source after mv")
    eq((await st.stat(URL("storage:conf/mv-dst.txt"))).size, 5, "moved size")
    usage = await st.disk_usage()
    expect(usage.total > 0 and usage.free >= 0 and usage.used >= 0, f"disk usage {usage}")


@check("storage: rm recursive")
async def _(ctx: Ctx) -> None:
    st = ctx.alice.storage
    await st.rm(URL("storage:conf/tree"), recursive=True)
    await raises(NOT_FOUND, st.stat(URL("storage:conf/tree")), "stat after rm")
    await st.rm(URL("storage:conf/mv-dst.txt"))
    await raises(NOT_FOUND, st.rm(URL("storage:conf/mv-dst.txt")), "rm of a missing file")


@check("storage: bob cannot see alice's files")
async def _(ctx: Ctx) -> None:
    st = ctx.bob.storage
    await raises(HIDDEN, st.stat(URL("storage://default/alice/conf/file.txt")), "bob stat")
    await raises(HIDDEN, st.create(URL("storage://default/alice/conf/bob.txt"), b"x"), "bob create in alice's tree")

    async def ls() -> List[str]:
        async with st.list(URL("storage://default/alice")) as it:
            return [f.name async for f in it]

    await raises(HIDDEN, ls(), "bob lists alice's home")


# ------------------------------------------------------------------------------------------ secrets


@check("secrets: add, list, rm")
async def _(ctx: Ctx) -> None:
    sec = ctx.alice.secrets
    await sec.add("conf-key", b"s3cr3t")
    async with sec.list() as it:
        items = [s async for s in it]
    mine = [s for s in items if s.key == "conf-key"]
    eq(len(mine), 1, "listed")
    eq((mine[0].owner, mine[0].cluster_name, mine[0].org_name), ("alice", "default", None), "secret fields")
    eq(mine[0].uri, URL("secret://default/alice/conf-key"), "uri")
    await sec.add("conf-tmp", b"x")
    await sec.rm("conf-tmp")
    await raises(ResourceNotFound, sec.rm("conf-tmp"), "rm of a missing secret")
    await raises(IllegalArgumentError, sec.add("bad key!", b"x"), "invalid key")
    async with ctx.bob.secrets.list() as it:
        eq([s.key async for s in it if s.owner == "alice"], [], "bob sees none of alice's secrets")


# ------------------------------------------------------------------------------------------ disks


@check("disks: create, get by id and name, list")
async def _(ctx: Ctx) -> None:
    disks = ctx.alice.disks
    disk = await disks.create(2**30, timeout_unused=timedelta(hours=1), name="conf-disk")
    eq((disk.storage, disk.owner, disk.name, disk.cluster_name), (2**30, "alice", "conf-disk", "default"), "disk")
    eq(disk.status.value, "Ready", "status")
    eq(disk.timeout_unused, timedelta(hours=1), "timeout_unused")
    eq(disk.uri, URL(f"disk://default/alice/{disk.id}"), "uri")
    eq((await disks.get(disk.id)).id, disk.id, "get by id")
    eq((await disks.get("conf-disk")).id, disk.id, "get by name")
    async with disks.list() as it:
        eq([d.id async for d in it if d.id == disk.id], [disk.id], "listed")
    eq(disk.last_usage, None, "last_usage of a fresh disk")
    await raises(IllegalArgumentError, disks.create(2**30, name="conf-disk"), "duplicate name")
    await raises(ResourceNotFound, disks.get("no-such-disk"), "get of a missing disk")
    await raises(AuthorizationError, ctx.bob.disks.get(disk.id), "bob gets alice's disk")
    ctx.shared["disk"] = disk


@check("disks: a job mounting the disk sets last_usage; rm")
async def _(ctx: Ctx) -> None:
    disks = ctx.alice.disks
    disk = ctx.shared["disk"]
    job = await start(
        ctx.alice,
        'bash -c "echo on-disk > /mnt/disk/f && cat /mnt/disk/f"',
        disk_volumes=[DiskVolume(disk.uri, "/mnt/disk", read_only=False)],
    )
    done = await wait_status(ctx.alice, job.id, FINISHED)
    eq(done.status, JobStatus.SUCCEEDED, f"job status ({done.history.description})")
    # a second job finds the file on the disk, at the disk's path (the sandbox runner, the default)
    again = await start(ctx.alice, "cat /mnt/disk/f", disk_volumes=[DiskVolume(disk.uri, "/mnt/disk", read_only=True)])
    await wait_status(ctx.alice, again.id, FINISHED)
    async with ctx.alice.jobs.monitor(again.id) as it:
        eq(b"".join([c async for c in it]), b"on-disk\n", "second job's log")
    got = await disks.get(disk.id)
    expect(got.last_usage is not None, "last_usage is still None after a job used the disk")
    expect(got.used_bytes is not None and got.used_bytes > 0, f"used_bytes {got.used_bytes}")
    await disks.rm(disk.id)
    await raises(ResourceNotFound, disks.get(disk.id), "get after rm")


# ------------------------------------------------------------------------------------------ jobs


@check("jobs: start with options, follow the logs of a running job, final status")
async def _(ctx: Ctx) -> None:
    jobs = ctx.alice.jobs
    job = await start(
        ctx.alice,
        'bash -c "for i in 1 2 3; do echo line $i; sleep 0.3; done"',
        name="conf-lines",
        tags=["conf", "lines"],
        description="conformance",
        env={"GREETING": "hi"},
        life_span=3600,
    )
    eq((job.name, job.tags, job.description, job.preset_name), ("conf-lines", ["conf", "lines"], "conformance", "cpu-small"), "job")
    eq(job.container.env, {"GREETING": "hi"}, "env")
    eq(job.life_span, 3600.0, "life_span")
    eq(job.uri, URL(f"job://default/alice/{job.id}"), "uri")
    eq(job.owner, "alice", "owner")
    async with jobs.monitor(job.id) as it:
        log = b"".join([c async for c in it])
    eq(log, b"line 1\nline 2\nline 3\n", "log")
    done = await wait_status(ctx.alice, job.id, FINISHED)
    eq((done.status, done.history.exit_code), (JobStatus.SUCCEEDED, 0), "final status")
    expect(done.history.started_at is not None and done.history.finished_at is not None, "history times")
    ctx.shared["lines_job"] = done


@check("jobs: monitor with timestamps and separator")
async def _(ctx: Ctx) -> None:
    job = ctx.shared["lines_job"]
    async with ctx.alice.jobs.monitor(job.id, timestamps=True, separator="---SEP---") as it:
        log = b"".join([c async for c in it]).decode()
    lines = log.splitlines()
    eq(len(lines), 3, f"lines: {lines}")
    expect(all(re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z line \d$", ln) for ln in lines), f"timestamps: {lines}")


@check("jobs: HTTP /log stream (headers, chunked body)")
async def _(ctx: Ctx) -> None:
    job = ctx.shared["lines_job"]
    url = ctx.alice.config.clusters["default"].monitoring_url / job.id / "log"
    status, headers, body = await raw(ctx, "GET", url)
    eq(status, 200, "status")
    expect(headers.get("Content-Type", "").startswith("text/plain"), f"content type {headers.get('Content-Type')}")
    expect("X-Separator" in headers, "X-Separator header")
    eq(body, b"line 1\nline 2\nline 3\n", "body")


@check("jobs: HTTP /log of a running job sends its headers at once")
async def _(ctx: Ctx) -> None:
    job = await start(ctx.alice, "sleep 30", name="conf-quiet")
    try:
        await wait_status(ctx.alice, job.id, (JobStatus.RUNNING,))
        url = ctx.alice.config.clusters["default"].monitoring_url / job.id / "log"
        async with aiohttp.ClientSession() as session:
            t0 = time.monotonic()
            async with session.get(url, headers={"Authorization": f"Bearer {ctx.tokens['alice']}"}, timeout=aiohttp.ClientTimeout(total=5)) as resp:
                eq(resp.status, 200, "status")
                expect(time.monotonic() - t0 < 3, "headers came late")
    except asyncio.TimeoutError:
        raise CheckFailed("no response headers within 5 s while the job printed nothing")
    finally:
        await ctx.alice.jobs.kill(job.id)


@check("jobs: list with filters (NDJSON), seeded jobs")
async def _(ctx: Ctx) -> None:
    jobs = ctx.alice.jobs
    status, _, body = await raw(
        ctx, "POST", ctx.base_url / "_local/jobs/seed", json={"count": 7, "tags": ["seeded"], "status": "succeeded"}
    )
    eq(status, 201, f"seed: {body!r}")
    ids = json.loads(body)["ids"]

    async def listed(**kw: Any) -> List[str]:
        async with jobs.list(**kw) as it:
            return [j.id async for j in it]

    eq(sorted(await listed(tags=["seeded"])), sorted(ids), "tag filter")
    eq(await listed(tags=["seeded"], limit=3), ids[:3], "limit")
    eq(await listed(tags=["seeded"], reverse=True, limit=2), ids[::-1][:2], "reverse + limit")
    eq(await listed(tags=["seeded"], statuses={JobStatus.RUNNING}), [], "status filter")
    eq(sorted(await listed(tags=["seeded"], statuses={JobStatus.SUCCEEDED}, owners=["alice"])), sorted(ids), "status+owner")
    eq(await listed(name="conf-lines"), [ctx.shared["lines_job"].id], "name filter")
    now = datetime.now(timezone.utc)
    eq(await listed(tags=["seeded"], since=now + timedelta(minutes=1)), [], "since in the future")
    eq(sorted(await listed(tags=["seeded"], until=now + timedelta(minutes=1))), sorted(ids), "until")
    async with ctx.bob.jobs.list(tags=["seeded"]) as it:
        eq([j.id async for j in it], [], "bob does not list alice's jobs")
    status, headers, body = await raw(
        ctx, "GET", ctx.api_url / "jobs", params={"tag": "seeded", "limit": "2"}, headers={"Accept": "application/x-ndjson"}
    )
    eq(status, 200, "raw status")
    expect(headers.get("Content-Type", "").startswith("application/x-ndjson"), f"content type {headers.get('Content-Type')}")
    eq(len(body.decode().strip().splitlines()), 2, "ndjson lines")


@check("jobs: status errors (unknown job, bob on alice's job)")
async def _(ctx: Ctx) -> None:
    await raises((IllegalArgumentError, ResourceNotFound), ctx.alice.jobs.status("job-00000000-0000-0000-0000-000000000000"), "unknown job")
    await raises(AuthorizationError, ctx.bob.jobs.status(ctx.shared["lines_job"].id), "bob reads alice's job")


@check("jobs: top, exec, attach, send_signal on a running job")
async def _(ctx: Ctx) -> None:
    jobs = ctx.alice.jobs
    job = await start(ctx.alice, 'bash -c "while read l; do echo got:$l; done"', name="conf-interactive")
    await wait_status(ctx.alice, job.id, (JobStatus.RUNNING,))
    try:
        async with jobs.top(job.id) as it:
            async for t in it:
                expect(t.cpu >= 0 and t.memory > 0 and t.timestamp > 0, f"telemetry {t}")
                break
        async with jobs.exec(job.id, "echo hi-exec", stdout=True, stderr=True) as stream:
            out, code = await read_std(stream)
        eq((out[1], code), (b"hi-exec\n", 0), "exec output and exit code")
        async with jobs.exec(job.id, "sh -c 'echo err >&2; exit 3'", stdout=True, stderr=True) as stream:
            out, code = await read_std(stream)
        eq((out[2], code), (b"err\n", 3), "exec stderr and exit code")
        async with jobs.exec(job.id, "head -n1", stdin=True, stdout=True, stderr=True) as stream:
            await stream.write_in(b"typed\n")
            out, code = await read_std(stream)
        eq((out[1], code), (b"typed\n", 0), "exec with stdin")
        async with jobs.attach(job.id, stdin=True, stdout=True, stderr=True) as stream:
            await stream.write_in(b"ping\n")
            out, _ = await read_std(stream, until=b"got:ping\n")
        eq(out[1], b"got:ping\n", "attach echo")
        await raises(AuthorizationError, _enter(ctx.bob.jobs.exec(job.id, "true", stdout=True)), "bob exec")
        await jobs.send_signal(job.id)
        done = await wait_status(ctx.alice, job.id, FINISHED)
        eq(done.status, JobStatus.FAILED, "status after SIGKILL")
        eq(done.history.exit_code, 137, "exit code after SIGKILL")
    finally:
        await jobs.kill(job.id)


async def _enter(cm: Any) -> None:
    async with cm:
        pass


@check("jobs: attach/exec websocket handshake echoes v2.channels.neu.ro, top does not")
async def _(ctx: Ctx) -> None:
    job = await start(ctx.alice, "sleep 30", name="conf-proto")
    try:
        await wait_status(ctx.alice, job.id, (JobStatus.RUNNING,))
        mon = ctx.alice.config.clusters["default"].monitoring_url
        async with aiohttp.ClientSession() as session:
            for path, query in (("attach", {"stdout": "1"}), ("exec", {"cmd": "true", "stdout": "1"})):
                async with session.ws_connect(
                    (mon / job.id / path).with_query(query),
                    headers={"Authorization": f"Bearer {ctx.tokens['alice']}"},
                    protocols=(PROTOCOL,),
                ) as ws:
                    eq(ws.protocol, PROTOCOL, f"{path} subprotocol")
            # aiohttp's WebSocketResponse() without protocols (log_ws, top) answers none
            async with session.ws_connect(
                mon / job.id / "top",
                headers={"Authorization": f"Bearer {ctx.tokens['alice']}"},
                protocols=(PROTOCOL,),
            ) as ws:
                eq(ws.protocol, None, "top subprotocol")
    finally:
        await ctx.alice.jobs.kill(job.id)


@check("jobs: port_forward")
async def _(ctx: Ctx) -> None:
    jobs = ctx.alice.jobs
    job_port = free_port()
    job = await start(ctx.alice, f"python3 -u -m http.server {job_port} --bind 127.0.0.1", name="conf-http")
    try:
        async with jobs.monitor(job.id) as it:
            async for chunk in it:
                if b"Serving HTTP" in chunk:
                    break
        local_port = free_port()
        async with jobs.port_forward(job.id, local_port, job_port):
            body = None
            deadline = time.monotonic() + 15
            async with aiohttp.ClientSession() as session:
                while body is None:
                    try:
                        async with session.get(f"http://127.0.0.1:{local_port}/", timeout=aiohttp.ClientTimeout(total=3)) as resp:
                            eq(resp.status, 200, "status through the tunnel")
                            body = await resp.text()
                    except (aiohttp.ClientError, asyncio.TimeoutError):
                        if time.monotonic() > deadline:
                            raise
                        await asyncio.sleep(0.3)
            expect("Directory listing" in body, f"body {body[:80]!r}")
    finally:
        await jobs.kill(job.id)


@check("jobs: kill, bump_life_span, get_capacity")
async def _(ctx: Ctx) -> None:
    jobs = ctx.alice.jobs
    job = await start(ctx.alice, "sleep 60", life_span=3600)
    await wait_status(ctx.alice, job.id, (JobStatus.RUNNING,))
    await jobs.bump_life_span(job.id, 600)
    eq((await jobs.status(job.id)).life_span, 4200.0, "life_span after bump")
    await raises(AuthorizationError, ctx.bob.jobs.kill(job.id), "bob kills alice's job")
    await jobs.kill(job.id)
    done = await wait_status(ctx.alice, job.id, FINISHED)
    eq(done.status, JobStatus.CANCELLED, "status after kill")
    cap = await jobs.get_capacity()
    expect(set(cap) >= {"cpu-small", "cpu-medium", "cpu-large", "gpu-small"}, f"capacity keys {cap}")
    expect(all(isinstance(v, int) for v in cap.values()), f"capacity values {cap}")


@check("jobs: parser volumes/envs (storage, secret file, secret env) used by a job")
async def _(ctx: Ctx) -> None:
    c = ctx.alice
    await c.storage.mkdir(URL("storage:conf/vol"), parents=True, exist_ok=True)
    await c.storage.create(URL("storage:conf/vol/in.txt"), b"from-storage")
    vols = c.parse.volumes(["storage:conf/vol:/data:ro", "secret:conf-key:/etc/key"])
    eq(vols.volumes[0].storage_uri, URL("storage://default/alice/conf/vol"), "parsed storage uri")
    eq(vols.secret_files[0].secret_uri, URL("secret://default/alice/conf-key"), "parsed secret uri")
    envs = c.parse.envs(["PLAIN=1", "S=secret:conf-key"])
    eq(envs.secret_env, {"S": URL("secret://default/alice/conf-key")}, "secret env")
    job = await start(
        c,
        'bash -c "cat /data/in.txt; echo; cat /etc/key; echo; echo $S $PLAIN; stat -c %a /etc/key; echo x > /data/new"',
        volumes=vols.volumes,
        secret_files=vols.secret_files,
        env=envs.env,
        secret_env=envs.secret_env,
    )
    done = await wait_status(c, job.id, FINISHED)
    eq(done.status, JobStatus.FAILED, f"status ({done.history.description})")
    async with c.jobs.monitor(job.id) as it:
        log = b"".join([x async for x in it])
    # the sandbox runner (the default): the storage volume at /data is read-only, the secret file 0600
    eq(log, b"from-storage\ns3cr3t\ns3cr3t 1\n600\nbash: line 1: /data/new: Read-only file system\n", "log")
    await raises(
        AuthorizationError,
        start(ctx.bob, "true", volumes=[c.parse.volume("storage://default/alice/conf/vol:/data:ro")]),
        "bob mounts alice's folder",
    )


# ------------------------------------------------------------------------------------------ users / ACL


@check("users: share, get_acl, get_shares, revoke (bob denied / allowed / denied)")
async def _(ctx: Ctx) -> None:
    a, b = ctx.alice, ctx.bob
    await a.storage.mkdir(URL("storage:conf/shared"), parents=True, exist_ok=True)
    await a.storage.create(URL("storage:conf/shared/doc.txt"), b"shared doc")
    uri = URL("storage://default/alice/conf/shared")
    target = URL("storage://default/alice/conf/shared/doc.txt")

    async def bob_reads() -> bytes:
        return b"".join([c async for c in b.storage.open(target)])

    await raises(HIDDEN, bob_reads(), "bob before share")
    perm = await a.users.share("bob", Permission(uri, Action.READ))
    try:
        eq((perm.uri, perm.action), (uri, Action.READ), "share result")
        eq(await bob_reads(), b"shared doc", "bob after share")
        async with b.storage.list(URL("storage://default/alice/conf")) as it:
            eq([(f.name, f.permission) async for f in it], [("shared", Action.READ)], "bob lists alice/conf")
        acl = await b.users.get_acl("bob", scheme="storage")
        expect(any(p.uri == uri and p.action == Action.READ for p in acl), f"bob's acl {acl}")
        shares = await a.users.get_shares("alice", scheme="storage")
        expect(any(s.user == "bob" and s.permission.uri == uri for s in shares), f"alice's shares {shares}")
        await raises(HIDDEN, b.storage.create(URL("storage://default/alice/conf/shared/w.txt"), b"x"), "bob writes with read")
        await raises(HIDDEN, b.storage.rm(URL("storage://default/alice/conf/shared/doc.txt")), "bob deletes with read")
        await raises(HIDDEN, b.storage.mkdir(URL("storage://default/alice/conf/shared/d")), "bob mkdir with read")
    finally:
        await a.users.revoke("bob", uri)
    await raises(HIDDEN, bob_reads(), "bob after revoke")
    await raises(AuthorizationError, b.users.share("carol", Permission(uri, Action.READ)), "bob shares alice's folder")


@check("users: share a job with bob (read: status ok, kill denied)")
async def _(ctx: Ctx) -> None:
    job = ctx.shared["lines_job"]
    await ctx.alice.users.share("bob", Permission(job.uri, Action.READ))
    eq((await ctx.bob.jobs.status(job.id)).id, job.id, "bob reads the shared job")
    await ctx.alice.users.revoke("bob", job.uri)
    await raises(AuthorizationError, ctx.bob.jobs.status(job.id), "after revoke")


@check("users: roles (add, subroles, membership grants storage listing)")
async def _(ctx: Ctx) -> None:
    a, b = ctx.alice, ctx.bob
    await a.users.add("alice/roles/team")
    subroles = await a.users.get_subroles("alice")
    expect("alice/roles/team" in subroles, f"subroles {subroles}")
    await a.storage.mkdir(URL("storage:conf/team-dir"), parents=True, exist_ok=True)
    await a.storage.create(URL("storage:conf/team-dir/t.txt"), b"team")
    await a.users.share("alice/roles/team", Permission(URL("storage://default/alice/conf/team-dir"), Action.READ))
    await a.users.share("bob", Permission(URL("role://alice/roles/team"), Action.READ))
    data = b"".join([c async for c in b.storage.open(URL("storage://default/alice/conf/team-dir/t.txt"))])
    eq(data, b"team", "bob reads through the role")
    async with b.storage.list(URL("storage://default/alice/conf")) as it:
        names = [f.name async for f in it]
    eq(names, ["team-dir"], "bob lists alice/conf through the role")
    await a.users.remove("alice/roles/team")
    await raises(HIDDEN, b.storage.stat(URL("storage://default/alice/conf/team-dir/t.txt")), "after the role is removed")


@check("users: grant on a path with a space (percent-encoded URI) lets bob list its parent")
async def _(ctx: Ctx) -> None:
    a, b = ctx.alice, ctx.bob
    await a.storage.mkdir(URL("storage:conf/sp ace/inner"), parents=True, exist_ok=True)
    await a.storage.create(URL("storage:conf/sp ace/inner/f.txt"), b"spaced")
    inner = URL("storage://default/alice/conf/sp ace/inner")
    await a.users.share("bob", Permission(inner, Action.READ))
    try:
        async with b.storage.list(URL("storage://default/alice/conf/sp ace")) as it:
            eq([f.name async for f in it], ["inner"], "bob lists 'sp ace'")
        eq((await b.storage.stat(URL("storage://default/alice/conf/sp ace/inner/f.txt"))).size, 6, "bob stats the file")
    finally:
        await a.users.revoke("bob", inner)


@check("storage: rm with progress (NDJSON delete listing)")
async def _(ctx: Ctx) -> None:
    st = ctx.alice.storage
    await st.create(URL("storage:conf/rmp/a/one.txt"), b"1")
    await st.create(URL("storage:conf/rmp/two.txt"), b"2")
    deleted: List[Tuple[str, bool]] = []

    class Progress(neuro_sdk.AbstractDeleteProgress):
        def delete(self, data: Any) -> None:
            deleted.append((str(data.uri), data.is_dir))

    await st.rm(URL("storage:conf/rmp"), recursive=True, progress=Progress())
    base = "storage://default/alice/conf/rmp"
    eq(
        sorted(deleted),
        sorted([(f"{base}/a/one.txt", False), (f"{base}/a", True), (f"{base}/two.txt", False), (base, True)]),
        "deleted entries",
    )
    eq(deleted[-1], (base, True), "the folder itself comes last")


@check("jobs: run (resources, http port), status by name")
async def _(ctx: Ctx) -> None:
    c = ctx.alice
    container = neuro_sdk.Container(
        image=c.parse.remote_image("ubuntu:22.04"),
        resources=neuro_sdk.Resources(memory=256 * 2**20, cpu=0.5),
        command="sleep 30",
        http=neuro_sdk.HTTPPort(port=8080, requires_auth=False),
        env={"X": "1"},
    )
    job = await c.jobs.run(container, name="conf-run", tags=["run"])
    try:
        eq((job.container.resources.cpu, job.container.resources.memory), (0.5, 256 * 2**20), "resources")
        eq(job.container.http, neuro_sdk.HTTPPort(port=8080, requires_auth=False), "http")
        expect(job.http_url != URL(), f"http_url {job.http_url}")
        eq(job.preset_name, None, "no preset")
        eq((await c.jobs.status("conf-run")).id, job.id, "status by name")
    finally:
        await c.jobs.kill(job.id)
    await raises(
        IllegalArgumentError,
        c.jobs.run(container, name="job-bad"),
        "a name starting with job-",
    )


@check("jobs: top/exec/attach of a finished job")
async def _(ctx: Ctx) -> None:
    jobs = ctx.alice.jobs
    job = ctx.shared["lines_job"]

    async def top() -> None:
        async with jobs.top(job.id) as it:
            async for _ in it:
                pass

    await raises(ValueError, top(), "top of a finished job")
    await raises(ResourceNotFound, _enter(jobs.exec(job.id, "true", stdout=True)), "exec in a finished job")
    await raises(ResourceNotFound, _enter(jobs.attach(job.id, stdout=True)), "attach to a finished job")


@check("secrets/disks: bob cannot touch alice's")
async def _(ctx: Ctx) -> None:
    await ctx.alice.secrets.add("conf-alice-only", b"x")
    await raises(ResourceNotFound, ctx.bob.secrets.rm("conf-alice-only"), "bob removes alice's secret (his own namespace)")
    disk = await ctx.alice.disks.create(2**20)
    try:
        await raises(AuthorizationError, ctx.bob.disks.get(disk.id), "bob gets alice's disk")
        await raises(AuthorizationError, ctx.bob.disks.rm(disk.id), "bob removes alice's disk")
        await ctx.alice.users.share("bob", Permission(disk.uri, Action.READ))
        eq((await ctx.bob.disks.get(disk.id)).id, disk.id, "bob reads the shared disk")
        await raises(AuthorizationError, ctx.bob.disks.rm(disk.id), "bob removes with read")
    finally:
        await ctx.alice.disks.rm(disk.id)
        await ctx.alice.secrets.rm("conf-alice-only")


@check("users: get_acl with a uri filter, share to an unknown user")
async def _(ctx: Ctx) -> None:
    acl = await ctx.alice.users.get_acl("alice", uri=URL("storage://default/alice/conf"))
    expect(any(p.action == Action.MANAGE for p in acl), f"acl {acl}")
    await raises(
        (ResourceNotFound, IllegalArgumentError),
        ctx.alice.users.share("nobody-here", Permission(URL("storage://default/alice/conf"), Action.READ)),
        "share to an unknown user",
    )
    await raises(AuthorizationError, ctx.bob.users.get_acl("alice"), "bob reads alice's acl")


# ------------------------------------------------------------------------------------------ service accounts


@check("service accounts: create, list, get, log in with the token, rm")
async def _(ctx: Ctx) -> None:
    sas = ctx.alice.service_accounts
    account, token = await sas.create(name="conf-sa")
    eq((account.name, account.owner, account.role, account.default_cluster), ("conf-sa", "alice", "alice/service-accounts/conf-sa", "default"), "account")
    async with sas.list() as it:
        eq([x.id async for x in it if x.name == "conf-sa"], [account.id], "listed")
    eq((await sas.get("conf-sa")).id, account.id, "get by name")
    eq((await sas.get(account.id)).name, "conf-sa", "get by id")
    passed = json.loads(base64.b64decode(token))
    eq(passed["cluster"], "default", "cluster in the token")
    factory = Factory(Path(tempfile.mkdtemp(dir=ctx.workdir)) / "nmrc")
    await factory.login_with_passed_config(token)
    sa = await factory.get()
    try:
        eq(sa.config.username, "alice/service-accounts/conf-sa", "SA username")
        await ctx.alice.storage.create(URL("storage:conf/for-sa.txt"), b"sa")
        target = URL("storage://default/alice/conf/for-sa.txt")
        await raises(HIDDEN, sa.storage.stat(target), "SA before share")
        await ctx.alice.users.share(account.role, Permission(target, Action.READ))
        eq((await sa.storage.stat(target)).size, 2, "SA after share")
        await sas.rm("conf-sa")
        await raises(ResourceNotFound, sas.get(account.id), "get after rm")
        await raises(AuthenticationError, sa.storage.stat(target), "SA token after rm")
    finally:
        await sa.close()


# ------------------------------------------------------------------------------------------ main


async def run(ctx: Ctx, pattern: Optional[str]) -> int:
    for user in USERS:
        ctx.clients[user] = await ctx.login(ctx.tokens[user], user)
    passed = failed = 0
    try:
        for name, fn in CHECKS:
            if pattern and pattern.lower() not in name.lower():
                continue
            t0 = time.monotonic()
            try:
                await asyncio.wait_for(fn(ctx), 120)
            except Exception as e:  # noqa: BLE001
                failed += 1
                detail = str(e) if isinstance(e, CheckFailed) else f"{type(e).__name__}: {e}"
                print(f"FAIL {name}: {detail}", flush=True)
                if os.environ.get("CONF_TRACE"):
                    traceback.print_exc()
            else:
                passed += 1
                print(f"PASS {name} ({time.monotonic() - t0:.1f}s)", flush=True)
    finally:
        for c in ctx.clients.values():
            await c.close()
    print(f"conformance: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


def start_platform(users: Tuple[str, ...], data_dir: Path) -> Tuple[subprocess.Popen[str], URL, Dict[str, str]]:
    cmd = ["npx", "tsx", "--conditions=source", "packages/testing/src/bin.ts", "--port", "0", "--data-dir", str(data_dir), "--test-hooks"]
    for u in users:
        cmd += ["--user", u]
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, text=True, start_new_session=True)
    assert proc.stdout is not None
    url: Optional[URL] = None
    tokens: Dict[str, str] = {}
    deadline = time.monotonic() + 120
    while url is None or len(tokens) < len(users):
        line = proc.stdout.readline()
        if not line or time.monotonic() > deadline:
            proc.kill()
            raise SystemExit("LocalPlatform did not start")
        key, _, value = line.strip().partition("=")
        if key == "url":
            url = URL(value)
        elif key.startswith("token."):
            tokens[key[len("token."):]] = value
    # Python's cookie jar ignores cookies of IP hosts: talk to the platform as `localhost`
    return proc, url.with_host("localhost"), tokens


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", help="API URL of a running LocalPlatform (default: start one)")
    ap.add_argument("--token", action="append", default=[], help="NAME=TOKEN, for each of alice, bob, carol")
    ap.add_argument("-k", dest="pattern", help="run only checks whose name contains this")
    args = ap.parse_args()
    proc = None
    workdir = Path(tempfile.mkdtemp(prefix="neuro-conformance-"))
    try:
        if args.url:
            url = URL(args.url)
            tokens = dict(t.split("=", 1) for t in args.token)
        else:
            proc, url, tokens = start_platform(USERS, workdir / "platform")
        return asyncio.run(run(Ctx(api_url=url, tokens=tokens, workdir=workdir), args.pattern))
    finally:
        if proc is not None:
            stop_platform(proc)
        shutil.rmtree(workdir, ignore_errors=True)


def stop_platform(proc: "subprocess.Popen[str]") -> None:
    """SIGTERM to the platform's process group (npx, tsx, node), SIGKILL if it lingers."""
    os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        proc.poll()  # reap npx, the group's leader, so that only live members keep the group
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
