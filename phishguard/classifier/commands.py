"""Click commands ``phishguard train`` and ``phishguard eval`` (registered in :mod:`phishguard.cli`).

scikit-learn is imported only inside them, so the rest of the CLI starts without it.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

__all__ = ["train_command", "eval_command"]


@click.command("train")
@click.option("--config", "config", type=click.Path(dir_okay=False, exists=True), default="train.yaml",
              show_default=True, help="Training config (YAML): data paths, seed, thresholds.")
@click.option("--only", type=click.Choice(["text", "url"]), default=None, help="Train only this model.")
@click.option("--out-dir", type=click.Path(file_okay=False), default=None, help="Write models here instead of the config's out_dir.")
@click.option("--export-only", is_flag=True,
              help="Do not train: write each .npz again from the .skops beside it (same arrays, current file layout).")
def train_command(config: str, only: str | None, out_dir: str | None, export_only: bool) -> int:
    """Rebuild the text and URL models from the configured data (seeded); write models/*.skops|npz|json."""
    from .config import load_config
    from .train import export_all, train_all

    cfg = load_config(Path(config))
    if out_dir:
        cfg = cfg.model_copy(update={"out_dir": Path(out_dir)})
    if export_only:
        cards = export_all(cfg, only=only)
    else:
        cards = train_all(cfg, log=lambda m: click.echo(m, err=True), only=only)
    for name, card in cards.items():
        arts = ", ".join(f"{a['file']} ({a['bytes'] / 1e6:.1f} MB)" for a in card["artifacts"].values())
        click.echo(f"{name}: {arts}; thresholds {card['thresholds']}")
    return 0


@click.command("eval")
@click.option("--data", "data", type=click.Path(dir_okay=False, exists=True), required=True,
              help="Labelled messages: TSV (label, text) or JSONL ({\"text\", \"label\"}).")
@click.option("--models-dir", type=click.Path(file_okay=False), default=None, help="Models folder (default: the shipped one).")
@click.option("--png", type=click.Path(dir_okay=False), default=None,
              help="Precision-recall curve image (default: FILE.pr.png beside the data).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def eval_command(data: str, models_dir: str | None, png: str | None, as_json: bool) -> int:
    """Score labelled messages with the text model: precision, recall, F1, ROC-AUC, PR-AUC, confusion matrix."""
    import numpy as np

    from ..resources import shipped_dir
    from .card import read_card
    from .data import read_labelled
    from .evaluate import binary_report, format_report, plot_pr
    from .features import text_document
    from .serve import load_numpy_model

    card_path = Path(models_dir or shipped_dir("models")) / "text.json"
    model = load_numpy_model(card_path)
    thr = float(read_card(card_path)["thresholds"]["scam"])
    rows = read_labelled(Path(data))
    if not rows.texts:
        raise click.ClickException(f"{data}: no labelled rows")
    scores = model.score([text_document(t) for t in rows.texts], "scam")
    y = np.array(rows.labels) == "scam"
    report = binary_report(y, scores, thr)
    out = Path(png) if png else Path(data).with_suffix(".pr.png")
    report["pr_curve"] = str(plot_pr(y, scores, out, f"text model ({model.version}) on {Path(data).name}"))
    report["model"] = model.version
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        click.echo(format_report(f"{Path(data).name} (scam vs the rest, model {model.version})", report))
        click.echo(f"  precision-recall curve: {out}")
    return 0
