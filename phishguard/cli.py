"""The command line (SPEC §2): ``phishguard scan``, ``rules check``, ``config show``.

Exit status, as antivirus scanners do: 0 nothing suspicious, 1 something suspicious or fraudulent,
2 usage error, unreadable input or any line in error (2 wins over 1). Errors are one line on stderr,
never a traceback.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from typing import IO, Any

import click

from . import __version__
from .cli_options import config_option, format_option
from .render import error_record, human_block, human_line, to_json

__all__ = ["main", "cli"]

EXIT_OK, EXIT_FOUND, EXIT_ERROR = 0, 1, 2


class InputError(click.ClickException):
    exit_code = EXIT_ERROR


def _settings(config: str | None, **overrides: Any):
    from .settings import load_settings

    return load_settings(config, **overrides)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="phishguard", message="%(prog)s %(version)s")
def cli() -> None:
    """phishguard — detects fraud links and scam scripts in marketplace chat messages."""


# --------------------------------------------------------------------------- scan


def _open_lines(path: str) -> Iterator[str]:
    if path == "-":
        stream: IO[bytes] = sys.stdin.buffer
    else:
        try:
            stream = open(path, "rb")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise InputError(f"cannot read {path!r}: {exc.strerror or exc}") from None
    try:
        for raw in stream:
            yield raw.rstrip(b"\n").rstrip(b"\r").decode("utf-8", "replace")
    except OSError as exc:
        raise InputError(f"cannot read {path!r}: {exc.strerror or exc}") from None
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()


def _parse_line(line: str) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(request, error). A JSON object line is a request; any other line is the text itself."""
    s = line.strip()
    if s.startswith("{") and s.endswith("}"):
        try:
            obj = json.loads(s)
        except ValueError:
            obj = None
        if isinstance(obj, dict):
            id_ = obj.get("id")
            if not isinstance(obj.get("text"), str):
                return None, error_record(id_, "invalid_request", "a JSON line needs a string field 'text'")
            ctx = obj.get("context")
            if ctx is not None and not isinstance(ctx, dict):
                return None, error_record(id_, "invalid_request", "'context' must be a JSON object")
            if id_ is not None and not isinstance(id_, (str, int)):
                return None, error_record(None, "invalid_request", "'id' must be a string or an integer")
            lang = obj.get("lang") if obj.get("lang") in ("ru", "en") else None
            return {"text": obj["text"], "id": id_, "context": ctx, "lang": lang}, None
    return {"text": line, "id": None, "context": None, "lang": None}, None


@cli.command()
@click.argument("texts", nargs=-1)
@click.option("--file", "file_", metavar="PATH", help="Read one message per line from PATH ('-' for stdin).")
@format_option()
@click.option("--lang", type=click.Choice(["ru", "en"]), default=None, help="Language of summaries and messages.")
@click.option("--fetch", is_flag=True, help="Also fetch the pages behind non-official links (SSRF-safe) and judge them.")
@config_option
def scan(texts: tuple[str, ...], file_: str | None, fmt: str, lang: str | None, fetch: bool, config: str | None) -> int:
    """Scan messages: each TEXT argument is one message (a bare URL is a message too).

    With --file (or text piped on stdin), every input line yields exactly one output line, in order.
    A line that is a JSON object is read as {"text", "id", "context"}.
    """
    if texts and file_:
        raise click.UsageError("give messages as arguments or with --file, not both")
    if not texts and file_ is None:
        if sys.stdin is None or sys.stdin.isatty():
            raise click.UsageError("nothing to scan: give a message, --file PATH, or pipe text on stdin")
        file_ = "-"
    from .resources import gc_paused, one_blas_thread

    one_blas_thread()
    with gc_paused():  # the scanner's modules, settings, rules and brands live as long as the command
        from .scanner import Scanner

        settings = _settings(config)
        scanner = Scanner(settings)
    lang = lang or scanner.lang
    if fetch:
        from .page.scan import FetchingJudge

        judge = FetchingJudge(scanner, settings)
        try:
            return _scan(judge, texts, file_, fmt, lang)
        finally:
            judge.close()
    return _scan(scanner.scan, texts, file_, fmt, lang)


def _scan(judge: Any, texts: tuple[str, ...], file_: str | None, fmt: str, lang: str) -> int:
    """Scan arguments or lines with ``judge(text, id=, context=, lang=) -> Verdict``; print; exit code."""
    colour = sys.stdout.isatty()
    status = EXIT_OK

    if file_ is None:
        verdicts = [judge(t, lang=lang) for t in texts]
        if fmt == "json":
            body: Any = verdicts[0].to_dict() if len(verdicts) == 1 else [v.to_dict() for v in verdicts]
            click.echo(to_json(body, indent=2))
        elif fmt == "jsonl":
            for v in verdicts:
                click.echo(to_json(v.to_dict()))
        else:
            click.echo("\n\n".join(human_block(v, lang, colour=colour) for v in verdicts), color=colour)
        return EXIT_FOUND if any(v.flagged for v in verdicts) else EXIT_OK

    collected: list[dict[str, Any]] = []
    for line in _open_lines(file_):
        req, err = _parse_line(line)
        if err is not None:
            status = EXIT_ERROR
            record = err
            text_out = f"{'ERROR':<13} [{err['id']}] {err['error']['message']}"
        else:
            v = judge(req["text"], id=req["id"], context=req["context"], lang=req["lang"] or lang)
            if v.flagged and status == EXIT_OK:
                status = EXIT_FOUND
            record = v.to_dict()
            text_out = human_line(v, req["lang"] or lang, colour=colour)
        if fmt == "json":
            collected.append(record)
        elif fmt == "jsonl":
            click.echo(to_json(record))
        else:
            click.echo(text_out, color=colour)
        sys.stdout.flush()
    if fmt == "json":
        click.echo(to_json(collected, indent=2))
    if status == EXIT_ERROR:
        click.echo("phishguard: error: some input lines could not be scanned (see their error records)", err=True)
    return status


# --------------------------------------------------------------------------- rules


@cli.group()
def rules() -> None:
    """Work with the rules folder."""


@rules.command("check")
@click.option("--rules-dir", type=click.Path(file_okay=False), default=None, help="Rules folder to check (default: the configured one).")
@config_option
def rules_check(rules_dir: str | None, config: str | None) -> int:
    """Validate every rule file and run every rule's examples; exit 1 on any problem."""
    from .ruleset.check import check_rules

    overrides = {"rules_dir": rules_dir} if rules_dir else {}
    report = check_rules(_settings(config, **overrides))
    for p in report.problems:
        click.echo(p)
    for t in report.todo:
        click.echo(f"todo: {t}")
    verdict = "OK" if report.ok else "FAILED"
    click.echo(f"{verdict}: {report.rules} rules, {report.examples} examples, {len(report.problems)} problems")
    return EXIT_OK if report.ok else EXIT_FOUND


# --------------------------------------------------------------------------- config


@cli.group()
def config() -> None:
    """Inspect the configuration."""


@config.command("show")
@config_option
@click.option("--format", "fmt", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True)
def config_show(config: str | None, fmt: str) -> int:
    """Print the effective configuration (file + environment + defaults), secrets masked."""
    import yaml

    from .settings import effective_config

    data = effective_config(_settings(config))
    if fmt == "json":
        click.echo(to_json(data, indent=2))
    else:
        click.echo(yaml.safe_dump(data, allow_unicode=True, sort_keys=False).rstrip())
    return EXIT_OK


# --------------------------------------------------------------------------- service (phishguard/service)

from .service.commands import keys as _keys_command, serve as _serve_command  # noqa: E402

cli.add_command(_serve_command)
cli.add_command(_keys_command)


# --------------------------------------------------------------------------- models (issue #6)

from .classifier.commands import eval_command, train_command  # noqa: E402  (after cli is defined)

cli.add_command(train_command)
cli.add_command(eval_command)

from .moderation.commands import db as _db_command, export_reviews as _export_command, users as _users_command  # noqa: E402

cli.add_command(_db_command)
cli.add_command(_users_command)
cli.add_command(_export_command)


# --------------------------------------------------------------------------- page (fake payment pages, #5)


@cli.command("page")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--url", required=True, help="The URL the page was saved from (its domain matters).")
@format_option()
@click.option("--lang", type=click.Choice(["ru", "en"]), default=None, help="Language of summaries and messages.")
@config_option
def page_cmd(file: str, url: str, fmt: str, lang: str | None, config: str | None) -> int:
    """Judge a saved HTML page offline, as if fetched from --url (no network)."""
    from pathlib import Path

    from .resources import one_blas_thread
    from .scanner import Scanner

    one_blas_thread()
    try:
        data = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {file!r}: {exc.strerror or exc}") from None
    scanner = Scanner(_settings(config))
    lang = lang or scanner.lang
    v = scanner.scan_page(data.decode("utf-8", "replace"), url, lang=lang)
    if fmt in ("json", "jsonl"):
        click.echo(to_json(v.to_dict(), indent=2 if fmt == "json" else None))
    else:
        colour = sys.stdout.isatty()
        click.echo(human_block(v, lang, colour=colour), color=colour)
    return EXIT_FOUND if v.flagged else EXIT_OK


# --------------------------------------------------------------------------- entry point


def _fail(message: str) -> int:
    click.echo(f"phishguard: error: {message}", err=True)
    return EXIT_ERROR


def _user_errors() -> tuple[type[BaseException], ...]:
    """The errors shown as their one line: configuration, rules, the moderation store. The store's module is
    imported only by the commands that use the store (~15 ms a scan does not need), so its error class is
    looked up, not imported: a StoreError can only come from a loaded module."""
    from .ruleset import RuleLoadError
    from .settings import ConfigError

    store = sys.modules.get("phishguard.moderation.store.base")
    return (ConfigError, RuleLoadError) + ((store.StoreError,) if store is not None else ())


def main(argv: list[str] | None = None) -> int:
    """Console entry point: one-line errors, SPEC exit codes, no tracebacks."""
    try:
        rv = cli.main(args=argv, prog_name="phishguard", standalone_mode=False)
    except click.exceptions.Exit as exc:
        rv = exc.exit_code
    except click.ClickException as exc:
        rv = _fail(exc.format_message().splitlines()[0] if exc.format_message() else type(exc).__name__)
    except _user_errors() as exc:  # evaluated only when an exception gets here
        rv = _fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    except click.exceptions.Abort:
        rv = _fail("aborted")
    except BrokenPipeError:
        rv = EXIT_OK
    except KeyboardInterrupt:
        rv = 130
    except Exception as exc:  # last resort: a bug must still not show a traceback to a user
        if os.environ.get("PHISHGUARD_DEBUG"):
            raise
        rv = _fail(f"internal error: {type(exc).__name__}: {exc}")
    code = rv if isinstance(rv, int) else EXIT_OK
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        pass
    return code


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":  # pragma: no cover
    entry()
