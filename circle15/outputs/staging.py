"""All or nothing: every command writes its outputs as one run, published as a unit.

A :class:`Publication` is one command's turn at an output folder:

1. **before any work** the folder is checked (created if missing; a file, a path under a
   file, a read-only or unwritable folder is an :class:`~circle15.errors.OutputError`),
   locked against other circle15 processes (:mod:`circle15.outputs.lock`), recovered
   from an interrupted predecessor, and checked for files circle15 did not write under the
   names it is about to write, and for inputs that live there;
2. the command writes into a fresh run folder, :attr:`Publication.folder`, and then its
   ``manifest.json`` (:meth:`Publication.write_manifest`: every file with its SHA-256);
3. :meth:`Publication.publish` makes the run the folder's contents in one step
   (:mod:`circle15.outputs.layout`). Any error or signal before that leaves the previous
   outputs exactly as they were and removes the partial run.

Files of the folder that circle15 did not write are never touched. Outputs of another
command in the same folder (``circle15 compare`` beside ``circle15 run``) are carried
over, and the manifest says which command wrote each file.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..errors import Circle15Error, OutputError
from ..progress import QUIET, Progress
from . import layout
from .atomic import TEMP_PREFIX
from .folder import absolute, disk_full, folder_error, no_space_error, prepare_folder
from .layout import CURRENT, JOURNAL, RUNS, STATE
from .lock import FolderLock, command_line, describe, process_alive
from .manifest import MANIFEST, read_manifest, sha256, write_folder_manifest

#: Name prefix of the staging folders of circle15 before version 0.2 (cleaned up here).
STAGE_PREFIX = ".circle15-run-"
LAST = MANIFEST
_ABSENT, _OURS, _USER = "absent", "ours", "user"
#: Output folders published by this process (for the message after an interruption).
PUBLISHED: list[Path] = []

_README = """This folder belongs to circle15 (15-minute public-service circle analysis).

runs/<id>/   the files of a run, as written
current      the run whose files the output folder shows: every output beside this folder
             is a link into current/ (or, where links are not possible, a plain file)
lock         held while a circle15 command works on the output folder

Do not edit or add files in here: circle15 removes runs that are no longer current.
To hand outputs on, copy them (cp, zip and e-mail follow the links) or the whole folder.
"""


class Publication:
    """One command's outputs into one output folder (see the module docstring).

    Parameters
    ----------
    out : Path or str
        The output folder.
    kind : str
        The command (``run``, ``compare``, ``sites``, ``batch``, ``fetch``): a run
        replaces the outputs of its own kind and carries over those of other kinds.
    command : str, optional
        The command line, shown to a second process that finds the folder locked.
    outputs : iterable of str
        Every name (relative path) this command may write, checked before any work.
    inputs : iterable of path
        The command's input files: none may be one of circle15's files in ``out`` or lie
        in ``out`` under the name of an output.
    wait : bool
        Wait for another circle15 working on the folder, instead of stopping.
    progress : Progress
        Where waiting and recovery are reported.
    keep_partial : bool
        Keep the run folder of a run that fails or is interrupted (``circle15 batch``
        resumes from the regions it finished), and do not prune earlier ones at the start.
    layout : str, optional
        ``links`` or ``files`` (default: ``$CIRCLE15_OUTPUT_LAYOUT``, else what the file
        system allows).

    Attributes
    ----------
    out, folder : Path
        The output folder and the run folder to write into.
    previous : dict or None
        The manifest of the outputs the folder holds now.
    leftovers : list of Path
        Run folders of earlier runs that never published (only with ``keep_partial``).
    committed : bool
        Whether :meth:`publish` made this run the folder's contents.
    """

    def __init__(
        self,
        out: Path | str,
        *,
        kind: str = "run",
        command: str | None = None,
        outputs: Iterable[str] = (),
        inputs: Iterable[Path | str | None] = (),
        wait: bool = False,
        progress: Progress = QUIET,
        keep_partial: bool = False,
        layout: str | None = None,
    ) -> None:
        self.out = absolute(out)
        self.kind = kind
        self.command = command or command_line()
        self.outputs = [str(o) for o in outputs]
        self.inputs = [i for i in inputs if i is not None]
        self.wait, self.progress, self.keep_partial = wait, progress, keep_partial
        self._layout_wanted = layout
        self.state = self.out / STATE
        self.previous: dict[str, Any] | None = None
        self.leftovers: list[Path] = []
        self.committed = False
        self.run_id = ""
        self.folder = self.state / RUNS / "not-open"
        self.layout = "links"
        self._lock: FolderLock | None = None
        self._created: list[Path] = []
        self._known: dict[str, str] = {}
        self._stat: dict[str, tuple[int, int]] = {}
        self._stale_rels: set[str] = set()
        self._carried: dict[str, dict[str, Any]] = {}

    # ------------------------------------------------------------------------------------
    # Opening: checks before any work

    def __enter__(self) -> Publication:
        return self.open()

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc is not None and not self.committed:
                self._abandon(exc)
        finally:
            self.close()

    def open(self) -> Publication:
        """Check, lock and recover the folder and make the run folder; see the class."""
        self._created = prepare_folder(self.out)
        try:
            self._open_state()
            self._lock = FolderLock(self.state, self.out, self.command)
            self._lock.acquire(self.wait, self.progress.say)
        except OSError as exc:
            self.close()
            raise folder_error(self.out, exc) from None
        except BaseException:
            self.close()
            raise
        try:
            self._open_state()  # again: a predecessor may have removed it before we got in
            self._recover()
            self.layout = layout.choose_layout(self.state, self._layout_wanted)
            self.previous = read_manifest(self.out / MANIFEST)
            self._known = self._known_files()
            self._verify_previous()
            self.check_inputs()
            self.check_names(self.outputs)
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
            self.run_id = f"{stamp}-{os.getpid()}-{secrets.token_hex(3)}"
            self.folder = self.state / RUNS / self.run_id
            self.folder.mkdir(parents=True)
        except OSError as exc:
            self.close()
            if disk_full(exc):
                raise no_space_error(self.out, exc) from exc
            raise folder_error(self.out, exc) from None
        except BaseException:
            self.close()
            raise
        return self

    def _open_state(self) -> None:
        state = self.state
        if os.path.lexists(state) and (os.path.islink(state) or not state.is_dir()):
            raise OutputError(
                f"{state} is not circle15's folder (it is a file or a link); "
                "move it away or choose another --out"
            )
        (state / RUNS).mkdir(parents=True, exist_ok=True)
        readme = state / "README.txt"
        if not readme.exists():
            readme.write_text(_README, encoding="utf-8")

    def _recover(self) -> None:
        """Undo what an interrupted command left: a journal, partial runs, temporary files."""
        stale = self._lock.stale if self._lock else None  # a holder that died
        if layout.recover(self.out, self.state):
            self.progress.say(
                f"{describe(stale)} was stopped while publishing into "
                f"{self.out}; its changes were rolled back"
            )
        elif stale:
            self.progress.say(
                f"{describe(stale)} was stopped before it finished; the outputs "
                f"in {self.out} are those of the run before it"
            )
        remove_stale(self.out)
        current = layout.current_run(self.state)
        for entry in sorted((self.state / RUNS).iterdir()):
            if current is not None and entry.resolve() == current:
                continue
            if entry.is_dir():
                self._stale_rels.update(layout.run_files(entry))
                self.leftovers.append(entry)
        if not self.keep_partial:
            layout.prune(self.state)
            self.leftovers = []

    # ------------------------------------------------------------------------------------
    # Which files are circle15's

    def _known_files(self) -> dict[str, str]:
        """Outputs of the previous run by relative path, with their SHA-256 (``*``: trust)."""
        doc = self.previous
        if doc is None:
            return {}
        known = {
            rel: str(rec.get("sha256", ""))
            for rel, rec in doc["outputs"].items()
            if isinstance(rec, dict)
        }
        for region in doc.get("regions", []) if "format" not in doc else []:
            # circle15 before 0.2: a batch's regions listed their own files
            folder, record = region.get("folder"), region.get("manifest") or {}
            sub = self.out / str(folder or "") / MANIFEST
            if not folder or not sub.is_file() or sha256(sub) != record.get("sha256"):
                continue
            inner = read_manifest(sub) or {"outputs": {}}
            known[f"{folder}/{MANIFEST}"] = record["sha256"]
            records = [(name, rec) for name, rec in inner["outputs"].items()]
            records += [
                (Path(r["path"]).name, r)
                for r in [inner.get("config", {}), *inner.get("inputs", {}).values()]
                if isinstance(r, dict)
                and "path" in r
                and Path(r["path"]).parent == self.out / folder
            ]
            known.update({f"{folder}/{name}": str(rec.get("sha256", "")) for name, rec in records})
            known[f"{folder}/batch_region.json"] = "*"
        return known

    def _entry_state(self, rel: str) -> str:
        path = self.out / rel
        if not os.path.lexists(path):
            return _ABSENT
        if layout.is_our_link(self.out, rel):
            return _OURS
        if os.path.islink(path) or not path.is_file():
            return _USER
        if rel == MANIFEST and self.previous is not None:
            return _OURS
        want = self._known.get(rel)
        if want == "*" or (want and sha256(path) == want):
            return _OURS
        return _USER

    def _verify_previous(self) -> None:
        """Outputs seen through links must be as circle15 wrote them: a file edited through
        its link would otherwise be lost when its run is replaced."""
        if self.previous is None:
            if os.path.lexists(self.out / MANIFEST) and layout.is_our_link(self.out, MANIFEST):
                raise OutputError(
                    f"{self.out / MANIFEST} is not the manifest circle15 wrote (it cannot be "
                    "read); circle15 cannot tell which files there are its own. Move the "
                    "folder's contents you want to keep elsewhere and delete "
                    f"{self.out / STATE}, or choose another --out"
                )
            return
        for rel, record in self.previous["outputs"].items():
            if not layout.is_our_link(self.out, rel) or not isinstance(record, dict):
                continue
            path = self.out / rel
            if not path.exists():
                continue
            if sha256(path) != record.get("sha256"):
                raise OutputError(
                    f"{path} was changed after circle15 wrote it (its SHA-256 no longer "
                    "matches manifest.json), and circle15 never replaces or deletes an edited "
                    f"output: keep your version under another name (e.g. cp -L {rel} "
                    f"my_{Path(rel).name}), delete {rel}, and run again; or choose another "
                    "--out"
                )
            info = path.stat()
            self._stat[rel] = (info.st_size, info.st_mtime_ns)

    def check_inputs(self, inputs: Iterable[Path | str | None] | None = None) -> None:
        """Refuse inputs that are circle15's files in the folder, or lie there under the
        name of an output (this run would replace them); by default the ``inputs`` given."""
        root = os.path.realpath(self.out)
        names = set(self.outputs)
        for given in self.inputs if inputs is None else [i for i in inputs if i is not None]:
            if "://" in str(given) or "::" in str(given):
                continue  # a URL
            real = os.path.realpath(given)
            if not real.startswith(root + os.sep):
                continue
            rel = Path(os.path.relpath(real, root)).as_posix()
            if rel.split("/")[0] == STATE:
                raise OutputError(
                    f"input {given} is one of the files circle15 wrote into the output folder "
                    f"{self.out}, which this run replaces; copy it out of {self.out} (cp -L) "
                    "and name the copy, or choose another --out (nothing was read or written)"
                )
            if rel in names:
                raise OutputError(
                    f"input {given} lives in the output folder under the name of an output "
                    f"({rel}), which this run would replace; move it out of {self.out}, or "
                    "choose another --out (nothing was read or written)"
                )

    def check_names(self, names: Iterable[str]) -> None:
        """Refuse when a file circle15 did not write sits where an output goes."""
        for rel in names:
            parts = rel.split("/")
            for i in range(1, len(parts)):
                parent = self.out / "/".join(parts[:i])
                if os.path.lexists(parent) and (os.path.islink(parent) or not parent.is_dir()):
                    raise OutputError(
                        f"{parent} is a file or link circle15 did not make, where it writes the "
                        f"folder {'/'.join(parts[:i])}; move it, or choose another --out"
                    )
            if self._entry_state(rel) != _USER:
                continue
            path = self.out / rel
            if rel in self._known and path.is_file() and not path.is_symlink():
                raise OutputError(
                    f"{path} was changed after circle15 wrote it (its SHA-256 no longer matches "
                    f"manifest.json), and `circle15 {self.kind}` would replace it; save your "
                    f"version under another name, delete {rel}, and run again, or choose "
                    "another --out"
                )
            raise OutputError(
                f"{path} is not a file circle15 wrote (manifest.json does not list it), and "
                f"`circle15 {self.kind}` writes an output of that name there; move or rename "
                "it, or choose another --out (circle15 never replaces your files)"
            )

    # ------------------------------------------------------------------------------------
    # Writing

    def carry(self, rel: str) -> bool:
        """Put the current output ``rel`` unchanged into this run; False when there is none."""
        if self._entry_state(rel) != _OURS or not (self.out / rel).exists():
            return False
        layout.place_copy(self.out / rel, self.folder / rel)
        return True

    def _carry_other_commands(self) -> None:
        """Carry over the outputs other commands wrote, unless this run wrote them anew."""
        if self.previous is None:
            return
        kind = _kind(self.previous)
        for rel, record in self.previous["outputs"].items():
            if not isinstance(record, dict) or (self.folder / rel).exists():
                continue
            if record.get("command", kind) != self.kind and self.carry(rel):
                self._carried[rel] = {**record, "command": record.get("command", kind)}

    def write_manifest(self, document: Mapping[str, Any], order: Iterable[str] = ()) -> Path:
        """Write the run's ``manifest.json``: ``document``, and every file with its SHA-256.

        Outputs of other commands are carried over first (see the class); ``order``: the
        files in the order they were written, listed last.
        """
        self._carry_other_commands()
        head: dict[str, Any] = {
            "command": self.kind,
            "run_id": self.run_id,
            "command_line": self.command,
            "layout": self.layout,
        }
        earlier = self._earlier()
        if earlier:
            head["earlier"] = earlier
        return write_folder_manifest(
            self.folder,
            {**head, **document},
            published=self.out,
            order=order,
            records=self._carried,
            stamp={"command": self.kind, "run_id": self.run_id},
        )

    def _earlier(self) -> dict[str, Any]:
        """The manifests (without their outputs) of the commands whose files are carried."""
        if not self._carried or self.previous is None:
            return {}
        kinds = {record["command"] for record in self._carried.values()}
        earlier = {k: v for k, v in self.previous.get("earlier", {}).items() if k in kinds}
        kind = _kind(self.previous)
        if kind in kinds:
            earlier[kind] = {
                k: v for k, v in self.previous.items() if k not in ("outputs", "earlier")
            }
        return earlier

    # ------------------------------------------------------------------------------------
    # Publishing

    def publish(self) -> dict[str, Path]:
        """Make this run the folder's contents in one step; return the outputs' paths."""
        manifest = self.folder / MANIFEST
        document = read_manifest(manifest)
        if document is None:
            raise RuntimeError(f"{manifest}: a run is published with its manifest")
        files = layout.run_files(self.folder)
        unlisted = sorted(set(files) - {MANIFEST} - set(document["outputs"]))
        missing = sorted(set(document["outputs"]) - set(files))
        if unlisted or missing:
            raise RuntimeError(
                f"manifest.json does not match the run: not listed {unlisted}, "
                f"listed but missing {missing}"
            )
        self.check_names(files)
        for rel, (size, mtime) in self._stat.items():  # edited while this run worked?
            try:
                info = (self.out / rel).stat()
            except OSError:
                continue
            if (info.st_size, info.st_mtime_ns) != (size, mtime):
                self._stat.pop(rel)
                self._verify_previous()
                break
        old = set(self._stale_rels)
        if self.previous is not None:
            old |= {*self.previous["outputs"], MANIFEST}
        old = {rel for rel in old if self._entry_state(rel) == _OURS}
        marker = os.stat(manifest)
        try:
            if self.layout == "links":
                plain = [rel for rel in sorted(old) if not os.path.islink(self.out / rel)]
                layout.adopt_plain_files(self.out, self.state, plain, f"{self.run_id}-adopted")
                layout.publish_links(self.out, self.state, self.folder, files, old)
            else:
                layout.publish_files(self.out, self.state, self.folder, files, old)
        except BaseException:
            self.committed = _same_file(self.out / MANIFEST, marker)
            if self.committed:
                PUBLISHED.append(self.out)
            raise
        self.committed = True
        PUBLISHED.append(self.out)
        layout.prune(self.state)
        return {rel: self.out / rel for rel in files}

    # ------------------------------------------------------------------------------------
    # Failure and closing

    def _abandon(self, exc: BaseException) -> None:
        """A run that will not be published: remove it, and say why in plain words."""
        full = (
            not isinstance(exc, Circle15Error | KeyboardInterrupt)
            and isinstance(exc, Exception)
            and disk_full(exc, self.out)
        )
        keep = (
            self.keep_partial and not full and self.folder.is_dir() and any(self.folder.iterdir())
        )
        if self.run_id and not keep:
            shutil.rmtree(self.folder, ignore_errors=True)
        if full:
            raise no_space_error(self.out, exc) from exc
        if (
            isinstance(exc, OSError)
            and exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS)
            and str(exc.filename or "").startswith(str(self.out))
        ):
            raise folder_error(self.out, exc) from exc

    def close(self) -> None:
        """Release the folder; a folder circle15 made and never published into goes again."""
        try:
            if self._lock is not None and self._lock.held:
                self._remove_if_unused()
        finally:
            if self._lock is not None:
                self._lock.release()

    def _remove_if_unused(self) -> None:
        state = self.state
        if (
            os.path.lexists(state / CURRENT)
            or os.path.lexists(self.out / MANIFEST)
            or os.path.lexists(state / JOURNAL)
        ):
            return
        runs = state / RUNS
        if runs.is_dir() and any(runs.iterdir()):
            return
        with contextlib.suppress(OSError):
            runs.rmdir()
        for name in ("README.txt", "lock", "lock.held"):
            with contextlib.suppress(OSError):
                (state / name).unlink()
        with contextlib.suppress(OSError):
            state.rmdir()
        for folder in reversed(self._created):
            with contextlib.suppress(OSError):
                folder.rmdir()


def _kind(document: Mapping[str, Any]) -> str:
    """The command that wrote a manifest (older ones: ``run`` or ``batch``)."""
    return str(document.get("command") or ("batch" if "batch" in document else "run"))


def _same_file(path: Path, info: os.stat_result) -> bool:
    try:
        now = os.stat(path)
    except OSError:
        return False
    return (now.st_dev, now.st_ino) == (info.st_dev, info.st_ino)


@contextmanager
def staged_outputs(
    out_dir: Path | str, *, kind: str = "outputs", progress: Progress = QUIET
) -> Iterator[Path]:
    """Yield a run folder; on success its files become ``out_dir``'s outputs as a unit.

    A manifest listing the files is written when the block wrote none. See
    :class:`Publication` for the checks and guarantees.
    """
    with Publication(out_dir, kind=kind, progress=progress) as publication:
        yield publication.folder
        if not (publication.folder / MANIFEST).exists():
            publication.write_manifest({})
        publication.publish()


def remove_stale(out_dir: Path) -> list[Path]:
    """Remove staging folders and temporary files left in ``out_dir`` by killed runs of
    circle15 before 0.2 (``.circle15-run-<pid>-…``, ``.circle15-tmp-<pid>-…``).

    Only those whose process is no longer running go, so that a run going on at the same
    time (an older circle15 takes no lock) keeps its files.
    """
    removed = []
    for entry in Path(out_dir).iterdir():
        for prefix in (STAGE_PREFIX, TEMP_PREFIX):
            if entry.name.startswith(prefix) and not _running(entry.name[len(prefix) :]):
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry, ignore_errors=True)
                else:
                    entry.unlink(missing_ok=True)
                removed.append(entry)
    return removed


def _running(rest: str) -> bool:
    """Whether the process whose id starts ``rest`` (``"<pid>-…"``) is still running."""
    pid = rest.split("-", 1)[0]
    return pid.isdigit() and process_alive(int(pid))


def interrupted_message() -> str:
    """What an interrupted command tells the user about its output folder."""
    if PUBLISHED:
        return (
            f"interrupted after the new outputs were published in {PUBLISHED[-1]}; they "
            "are complete"
        )
    return "interrupted; the previous outputs are left as they were"
