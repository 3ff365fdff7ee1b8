"""The store's schema as named migrations, written once for both back ends.

Each migration is a name and a script of ``;``-separated statements. The few words the two SQL
dialects spell differently are placeholders filled by the back end's dialect:

* ``{id}``: an auto-incremented 64-bit primary key;
* ``{float}``: a double-precision number (times are UNIX seconds).

JSON-shaped values are stored as text (written and read by the store, never queried by SQL);
what the queue filters on (categories, domains, campaign keys) lives in child tables with indexes.
Applied migrations are recorded by name in ``schema_migrations``; a migration is never edited once
released: changes go into a new one appended to :data:`MIGRATIONS`.

>>> [name for name, _ in MIGRATIONS]
['0001_initial']
>>> statements(MIGRATIONS[0][1], id="ID", float="F")[0].startswith("CREATE TABLE meta")
True
"""

from __future__ import annotations

__all__ = ["BOOTSTRAP", "MIGRATIONS", "statements"]

#: Created before anything else (outside the numbered migrations) to record what was applied.
BOOTSTRAP = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    name TEXT PRIMARY KEY,
    applied_at {float} NOT NULL
)
"""

_INITIAL = """
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO meta (key, value) VALUES ('lists_version', 0), ('feed', 0);

CREATE TABLE flags (
    id {id},
    tenant TEXT NOT NULL,
    message_id TEXT,
    verdict TEXT NOT NULL,
    score {float} NOT NULL,
    text TEXT,
    context TEXT NOT NULL,
    reasons TEXT NOT NULL,
    urls TEXT NOT NULL,
    models TEXT NOT NULL,
    rules_version TEXT NOT NULL,
    categories TEXT NOT NULL,
    brand TEXT,
    domains TEXT NOT NULL,
    campaign_keys TEXT NOT NULL,
    created_at {float} NOT NULL,
    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'confirmed', 'dismissed')),
    decided_at {float},
    decided_by TEXT,
    purged_at {float}
);
CREATE INDEX flags_status ON flags (status, id);
CREATE INDEX flags_tenant ON flags (tenant, id);
CREATE INDEX flags_brand ON flags (brand, id);
CREATE INDEX flags_created ON flags (created_at);

CREATE TABLE flag_categories (
    category TEXT NOT NULL,
    flag_id BIGINT NOT NULL REFERENCES flags (id),
    PRIMARY KEY (category, flag_id)
);
CREATE TABLE flag_domains (
    domain TEXT NOT NULL,
    flag_id BIGINT NOT NULL REFERENCES flags (id),
    PRIMARY KEY (domain, flag_id)
);
CREATE TABLE flag_campaigns (
    key TEXT NOT NULL,
    flag_id BIGINT NOT NULL REFERENCES flags (id),
    PRIMARY KEY (key, flag_id)
);

CREATE TABLE decisions (
    id {id},
    flag_id BIGINT REFERENCES flags (id),
    action TEXT NOT NULL CHECK (action IN ('confirm', 'dismiss', 'reopen')),
    moderator TEXT NOT NULL,
    note TEXT NOT NULL,
    domains TEXT NOT NULL,
    created_at {float} NOT NULL
);
CREATE INDEX decisions_flag ON decisions (flag_id, id);

CREATE TABLE domain_status (
    domain TEXT PRIMARY KEY,
    status TEXT NOT NULL CHECK (status IN ('deny', 'allow')),
    decision_id BIGINT NOT NULL REFERENCES decisions (id),
    moderator TEXT NOT NULL,
    flag_id BIGINT REFERENCES flags (id),
    decided_at {float} NOT NULL
);

CREATE TABLE events (
    id {id},
    kind TEXT NOT NULL,
    tenant TEXT,
    payload TEXT NOT NULL,
    created_at {float} NOT NULL
);

CREATE TABLE deliveries (
    id {id},
    event_id BIGINT NOT NULL REFERENCES events (id),
    endpoint TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at {float} NOT NULL,
    last_error TEXT,
    done_at {float}
);
CREATE INDEX deliveries_due ON deliveries (state, next_at);

CREATE TABLE sightings (
    id {id},
    domain TEXT NOT NULL,
    tenant TEXT NOT NULL,
    message_id TEXT,
    context TEXT NOT NULL,
    verdict TEXT NOT NULL,
    seen_at {float} NOT NULL
);
CREATE INDEX sightings_domain ON sightings (domain, seen_at);
CREATE INDEX sightings_seen ON sightings (seen_at);

CREATE TABLE users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL CHECK (role IN ('viewer', 'moderator', 'admin')),
    password_hash TEXT NOT NULL,
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at {float} NOT NULL
);

CREATE TABLE tokens (
    token_sha256 TEXT PRIMARY KEY,
    user_name TEXT NOT NULL REFERENCES users (name) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('session', 'key')),
    created_at {float} NOT NULL,
    expires_at {float}
);
CREATE INDEX tokens_user ON tokens (user_name);
CREATE INDEX tokens_expiry ON tokens (kind, expires_at)
"""

#: The named migrations, in the order they are applied.
MIGRATIONS: list[tuple[str, str]] = [
    ("0001_initial", _INITIAL),
]


def statements(script: str, **words: str) -> list[str]:
    """The statements of a migration script with the dialect's ``words`` filled in.

    >>> statements("CREATE TABLE t (id {id});  ; INSERT INTO t VALUES (1)", id="INTEGER")
    ['CREATE TABLE t (id INTEGER)', 'INSERT INTO t VALUES (1)']
    """
    return [s.strip() for s in script.format(**words).split(";") if s.strip()]
